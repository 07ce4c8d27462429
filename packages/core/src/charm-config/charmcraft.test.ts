import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CharmcraftYamlInvalid } from "../errors.js";
import { pauseConfigOptionDefinition, refreshActionDefinitions, type RefreshCharmOptions } from "./actions.js";
import { renderCharmcraftRefreshSections, updateCharmcraftYaml } from "./charmcraft.js";

const kubernetes: RefreshCharmOptions = { substrate: "kubernetes", workloadName: "PostgreSQL" };

const AUTHOR_YAML = `# PostgreSQL charm (comment kept)
name: postgresql-k8s
type: charm
actions:
  # Backups are the charm's own action.
  create-backup:
    description: Creates a backup.
  resume-refresh:
    description: an outdated description
config:
  options:
    profile:
      type: string # inline comment kept
      default: production
peers:
  database-peers:
    interface: postgresql_peers
`;

describe("updateCharmcraftYaml", () => {
  it("adds the actions, the config option and the peer relation, keeping everything else", () => {
    const updated = updateCharmcraftYaml(AUTHOR_YAML, kubernetes);
    const data = parse(updated);
    expect(data.actions["create-backup"]).toEqual({ description: "Creates a backup." });
    expect(data.actions["resume-refresh"]).toEqual(refreshActionDefinitions(kubernetes)["resume-refresh"]);
    expect(data.actions["force-refresh-start"]).toEqual(refreshActionDefinitions(kubernetes)["force-refresh-start"]);
    expect(data.actions["pre-refresh-check"]).toEqual(refreshActionDefinitions(kubernetes)["pre-refresh-check"]);
    expect(data.config.options["pause-after-unit-refresh"]).toEqual(pauseConfigOptionDefinition(kubernetes));
    expect(data.config.options.profile).toEqual({ type: "string", default: "production" });
    expect(data.peers).toEqual({ "database-peers": { interface: "postgresql_peers" }, "refresh-v-three": { interface: "refresh" } });
    expect(data.name).toBe("postgresql-k8s");
    expect(updated).toContain("# PostgreSQL charm (comment kept)");
    expect(updated).toContain("# Backups are the charm's own action.");
    expect(updated).toContain("# inline comment kept");
    expect(updated.indexOf("name:")).toBeLessThan(updated.indexOf("actions:"));
  });

  it("returns the text unchanged when it already has every entry", () => {
    const once = updateCharmcraftYaml(AUTHOR_YAML, kubernetes);
    expect(updateCharmcraftYaml(once, kubernetes)).toBe(once);
  });

  it("leaves an entry alone when only its key order differs from the generated one", () => {
    const reordered = AUTHOR_YAML.replace(
      "peers:\n",
      "peers:\n  refresh-v-three:\n    interface: refresh\n",
    ).replace(
      "config:\n  options:\n",
      `config:\n  options:\n    pause-after-unit-refresh:\n      description: ${JSON.stringify(pauseConfigOptionDefinition(kubernetes).description)}\n      default: first\n      type: string\n`,
    );
    const updated = updateCharmcraftYaml(reordered, kubernetes);
    expect(parse(updated).config.options["pause-after-unit-refresh"]).toEqual(pauseConfigOptionDefinition(kubernetes));
    // Our own key order (type, default, description) would put "type:" first if it had been rewritten.
    expect(updated).toContain("pause-after-unit-refresh:\n      description:");
  });

  it("rewrites the actions when the substrate changes (machines has no container check)", () => {
    const machines = parse(updateCharmcraftYaml(updateCharmcraftYaml(AUTHOR_YAML, kubernetes), { ...kubernetes, substrate: "machines" }));
    expect(machines.actions["force-refresh-start"].params).not.toHaveProperty("check-workload-container");
  });

  it("fills an empty file and empty sections", () => {
    expect(parse(updateCharmcraftYaml("", kubernetes))).toEqual(parse(renderCharmcraftRefreshSections(kubernetes)));
    const data = parse(updateCharmcraftYaml("name: x\nactions:\nconfig:\n", kubernetes));
    expect(Object.keys(data.actions)).toHaveLength(3);
    expect(data.config.options["pause-after-unit-refresh"].default).toBe("first");
  });

  it("refuses text that is not a YAML mapping, or a section that is not a mapping", () => {
    expect(() => updateCharmcraftYaml("actions: [", kubernetes)).toThrow(CharmcraftYamlInvalid);
    expect(() => updateCharmcraftYaml("- a\n- b\n", kubernetes)).toThrow(/top level is not a mapping/);
    expect(() => updateCharmcraftYaml("peers: some text\n", kubernetes)).toThrow(/"peers" is not a mapping/);
  });
});

describe("renderCharmcraftRefreshSections", () => {
  it("renders exactly the refresh entries", () => {
    const data = parse(renderCharmcraftRefreshSections({ substrate: "machines", workloadName: "MySQL" }));
    expect(Object.keys(data)).toEqual(["actions", "config", "peers"]);
    expect(Object.keys(data.actions)).toEqual(["pre-refresh-check", "force-refresh-start", "resume-refresh"]);
    expect(data.actions["pre-refresh-check"].description).toContain("MySQL");
    expect(data.peers).toEqual({ "refresh-v-three": { interface: "refresh" } });
  });
});
