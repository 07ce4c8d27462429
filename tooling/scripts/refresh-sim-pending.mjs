#!/usr/bin/env node
// Stands in for the refresh-sim command until the sample charms land (issue 6).
process.stdout.write(
  "The demo arrives with the sample charms and the refresh-sim command; until then there is nothing to run. `npm test` runs every test.\n",
);
