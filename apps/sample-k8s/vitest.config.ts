import { packageProject } from "@refresh/config/vitest";

export default packageProject();
