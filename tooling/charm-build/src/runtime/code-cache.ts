/**
 * Starting a charm's bundle with a V8 code cache made after the code ran.
 *
 * Every Juju event starts Node afresh. Node's own compile cache (`NODE_COMPILE_CACHE`) stores
 * the code V8 compiled before the module ran, which for a bundle is little more than its top
 * level: every function an event calls is compiled again on every event. A cache created after
 * a run (`vm.Script#createCachedData`) holds every function compiled so far, and an event that
 * starts from it compiles almost nothing.
 *
 * The cache lives in the charm directory, one file per deployed bundle: its name holds the
 * bundle's size, mtime and inode (Juju writes the bundle anew with every deployment, and any
 * edit moves its mtime) and the Node version and architecture. V8 itself refuses data made by
 * another V8, or for a source of another length, but not a same-length edit, hence the stat in
 * the name. The file also lists the events whose runs it holds: an event not on the list
 * writes the cache again when it exits (a superset: the functions it compiled, plus all that
 * came from the cache), so the cache grows to cover the events the unit sees, once each.
 *
 * Nothing here may fail a hook: a missing, unreadable, foreign or corrupt cache is ignored
 * and rebuilt, and a cache that cannot be written is simply not written.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, type BigIntStats } from "node:fs";
import { dirname, join } from "node:path";
import { Script } from "node:vm";

/** Events a cache lists at most; past that it stops growing (relation and action names are few). */
const MAX_CACHED_EVENTS = 64;

/** The bytes before a cache file's JSON header: its length, little-endian. */
const HEADER_LENGTH_BYTES = 4;

const CACHE_SUFFIX = ".v8cache";

/** A cache file read back: the events whose runs it holds and V8's data. */
export interface CodeCache {
  readonly events: readonly string[];
  readonly data: Buffer;
}

/** Where the bundle with these stats is cached; see the module comment for the key. */
function codeCacheFile(cacheDir: string, { size, mtimeNs, ino }: BigIntStats): string {
  return join(cacheDir, `charm-${size}-${mtimeNs}-${ino}-${process.version}-${process.arch}${CACHE_SUFFIX}`);
}

/** The bundle's source and the stats of the very file it was read from. */
function readBundle(bundlePath: string): { source: string; stats: BigIntStats } {
  const fd = openSync(bundlePath, "r");
  try {
    return { stats: fstatSync(fd, { bigint: true }), source: readFileSync(fd, "utf8") };
  } finally {
    closeSync(fd);
  }
}

/** A cache file's bytes: the header length, the JSON list of events, V8's data. */
export function encodeCodeCache(cache: CodeCache): Buffer {
  const header = Buffer.from(JSON.stringify(cache.events), "utf8");
  const length = Buffer.alloc(HEADER_LENGTH_BYTES);
  length.writeUInt32LE(header.length);
  return Buffer.concat([length, header, cache.data]);
}

/**
 * The cache in `bytes`, or `undefined` when they are not one this module wrote. Checked by
 * hand rather than with a schema: this runs before the bundle, where every module loaded is
 * paid on every event, and V8 checks the data part itself.
 */
export function decodeCodeCache(bytes: Buffer): CodeCache | undefined {
  if (bytes.length < HEADER_LENGTH_BYTES) return undefined;
  const headerEnd = HEADER_LENGTH_BYTES + bytes.readUInt32LE(0);
  if (headerEnd > bytes.length) return undefined;
  let events: unknown;
  try {
    events = JSON.parse(bytes.subarray(HEADER_LENGTH_BYTES, headerEnd).toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(events) || !events.every((event): event is string => typeof event === "string")) return undefined;
  const data = bytes.subarray(headerEnd);
  return data.length === 0 ? undefined : { events, data };
}

function readCodeCache(file: string): CodeCache | undefined {
  try {
    return decodeCodeCache(readFileSync(file));
  } catch {
    return undefined;
  }
}

/** Writes the cache whole or not at all, and drops caches of bundles no longer deployed. */
function writeCodeCache(file: string, cache: CodeCache): void {
  try {
    const directory = dirname(file);
    mkdirSync(directory, { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, encodeCodeCache(cache));
    renameSync(partial, file);
    for (const name of readdirSync(directory)) {
      if (join(directory, name) !== file) rmSync(join(directory, name), { force: true });
    }
  } catch {
    // A cache is only ever a saving: the next event tries again.
  }
}

/** What {@link runCharmBundle} needs. */
export interface RunCharmBundleOptions {
  /** The bundled charm, a CommonJS file. */
  readonly bundlePath: string;
  /** The directory holding the cache; created when first written. */
  readonly cacheDir: string;
  /** The event being run, e.g. `hooks/update-status` (`JUJU_DISPATCH_PATH`). */
  readonly event: string;
  /** The `require` the bundle gets for Node's builtins. */
  readonly require: NodeJS.Require;
}

type CommonJsWrapper = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

/**
 * Runs the bundle as Node would run a CommonJS main module, compiled from the cache when
 * there is a usable one; when the cache lacks this event, writes it again as the process exits.
 */
export function runCharmBundle(options: RunCharmBundleOptions): void {
  const { bundlePath } = options;
  const { source, stats } = readBundle(bundlePath);
  const file = codeCacheFile(options.cacheDir, stats);
  const cached = readCodeCache(file);
  // Node's own wrapper, on the bundle's first line, so positions in stack traces stay right.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundlePath,
    ...(cached === undefined ? {} : { cachedData: cached.data }),
  });
  const events = cached !== undefined && script.cachedDataRejected !== true ? cached.events : [];
  if (!events.includes(options.event) && events.length < MAX_CACHED_EVENTS) {
    process.once("exit", () => writeCodeCache(file, { events: [...events, options.event], data: script.createCachedData() }));
  }
  const wrapper = script.runInThisContext() as CommonJsWrapper;
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, options.require, module, bundlePath, dirname(bundlePath));
}
