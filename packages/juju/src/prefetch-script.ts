/**
 * The shell side of the `dispatch` prefetch (see prefetch.ts for the protocol and the Node
 * side). Used when a charm is built, never when it runs, so it stays out of a charm's bundle.
 */
import { JujuError } from "./errors.js";

/**
 * What `dispatch` reads before Node starts. Leadership, config and the unit's status (plus the
 * application's on the leader, where only the leader may read it) are always read.
 */
export interface PrefetchPlan {
  /** Peer endpoints whose relation ids, members and databags (app, own unit, each member) are read. */
  readonly peerEndpoints: readonly string[];
  /** Also read `goal-state` (the machines substrate asks for it until every planned unit has joined). */
  readonly goalState: boolean;
  /**
   * Leave `goal-state` out once this file exists, relative to the charm directory (the machines
   * substrate's marker that every planned unit has joined: it no longer reads goal state then).
   */
  readonly goalStateUnlessFile?: string;
}

/** A prefetch plan `dispatch` cannot carry: a name that could not be written into the script as it is. */
export class InvalidPrefetchPlan extends JujuError {
  constructor(what: string, value: string, rule: string, resolution: string) {
    super("INVALID_PREFETCH_PLAN", `cannot prefetch with the ${what} ${JSON.stringify(value)}: ${rule}`, { resolution });
  }
}

const ENDPOINT_NAME = /^[a-z][a-z0-9-]*$/;
const RELATIVE_FILE = /^(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;

function checkPlan(plan: PrefetchPlan): void {
  for (const endpoint of plan.peerEndpoints) {
    if (!ENDPOINT_NAME.test(endpoint)) {
      throw new InvalidPrefetchPlan(
        "peer endpoint",
        endpoint,
        "Juju endpoint names are lower-case letters, digits and dashes, starting with a letter",
        "name the endpoint as it appears under `peers:` in charmcraft.yaml",
      );
    }
  }
  const file = plan.goalStateUnlessFile;
  if (file !== undefined && !RELATIVE_FILE.test(file)) {
    throw new InvalidPrefetchPlan(
      "marker file",
      file,
      "it must be a relative path of letters, digits, dots, dashes and underscores, without `..`",
      "give the path relative to the charm directory, e.g. .charm_refresh_v3/machines_peer_relation_initialized",
    );
  }
}

/**
 * A POSIX shell function, `refresh_prefetch`, that makes the reads of `plan` and prints their
 * frames on stdout. `dispatch` pipes it into Node with `HOOK_TOOL_PREFETCH_ENV` (prefetch.ts)
 * set. The tools it runs are the ones prefetch.ts lets wait for a frame: keep the two together.
 *
 * The reads run one after the other: side by side they finished later here (two cores shared
 * with Node's own start-up and the unit agent; see docs/decisions.md), and Node takes each
 * answer as soon as its frame is complete.
 *
 * Every value reaches a tool as its own argument ("$var"), never as shell text: endpoint names
 * are checked here, and relation ids and unit names read from Juju are only passed on when they
 * hold nothing but the characters Juju uses in them.
 */
export function prefetchShellFunction(plan: PrefetchPlan): string {
  checkPlan(plan);
  return `# Reads every event makes, answered while Node starts (see @refresh/juju, prefetch.ts).
refresh_frame() {
  refresh_out=$("$@" 2>/dev/null) || return 1
  refresh_header=$1
  shift
  for refresh_arg in "$@"; do refresh_header="$refresh_header $refresh_arg"; done
  printf '@%s\\n%s\\n' "$refresh_header" "$refresh_out"
}
refresh_words() {
  refresh_words=
  refresh_list=\${1#\\[}
  refresh_list=\${refresh_list%\\]}
  IFS=,
  for refresh_word in $refresh_list; do
    refresh_word=\${refresh_word#\\"}
    refresh_word=\${refresh_word%\\"}
    case $refresh_word in
      '' | *[!A-Za-z0-9:/._-]*) ;;
      *) refresh_words="$refresh_words $refresh_word" ;;
    esac
  done
  unset IFS
}
refresh_prefetch() {
  [ -n "\${JUJU_UNIT_NAME:-}" ] || return 0
  set -f
  if read -r refresh_uptime refresh_idle </proc/uptime; then printf '@clock %s\\n' "$refresh_uptime"; fi 2>/dev/null
  refresh_leader=
  refresh_frame is-leader --format=json && refresh_leader=$refresh_out
  refresh_frame config-get --format=json${goalStateRead(plan)}
  for refresh_endpoint in ${plan.peerEndpoints.join(" ")}; do
    refresh_frame relation-ids --format=json -- "$refresh_endpoint" || continue
    refresh_words "$refresh_out"
    for refresh_relation in $refresh_words; do
      refresh_frame relation-get --format=json -r "$refresh_relation" --app - "\${JUJU_UNIT_NAME%/*}"
      refresh_frame relation-get --format=json -r "$refresh_relation" - "$JUJU_UNIT_NAME"
      refresh_frame relation-list --format=json -r "$refresh_relation" || continue
      refresh_words "$refresh_out"
      for refresh_member in $refresh_words; do
        refresh_frame relation-get --format=json -r "$refresh_relation" - "$refresh_member"
      done
    done
  done
  refresh_frame status-get --format=json --include-data
  if [ "$refresh_leader" = true ]; then refresh_frame status-get --format=json --include-data --application; fi
}
`;
}

/** The script's `goal-state` read for `plan`, if any (already checked by {@link checkPlan}). */
function goalStateRead(plan: PrefetchPlan): string {
  if (!plan.goalState) return "";
  if (plan.goalStateUnlessFile === undefined) return "\n  refresh_frame goal-state --format=json";
  return `\n  if [ ! -e "\${JUJU_CHARM_DIR:-.}/${plan.goalStateUnlessFile}" ]; then refresh_frame goal-state --format=json; fi`;
}
