// Where a command that writes one file (an export, a report) really writes: a regular or new
// file is written under a temporary name next to its real path and renamed over it when
// complete (through a symlink: the link stays, its target is replaced); a device or named pipe
// is written in place, as `> PATH` would. What cannot be written is an InputError naming the
// flag (exit 2, one line).
import { dirname } from "node:path";
import { InputError } from "../config/errors.js";
import { inspectOutput, isWithin, type OutputTarget, realPathOf } from "../shared/output-target.js";
import { makeFolder } from "../shared/writable-folder.js";

export interface OutputFile {
  target: OutputTarget;
  /** Where the bytes go: a temporary file beside the real target, or the device or pipe itself. */
  writePath: string;
  /** The path the finished temporary file is renamed to; undefined when written in place. */
  renameTo: string | undefined;
}

const refuse = (field: string, path: string, message: string, hint: string): InputError =>
  new InputError({ file: "command line", field, message: `${path} ${message}`, hint });

/**
 * Resolves `path` for writing one file whose temporary name ends in `tempSuffix`, and creates
 * its folder when missing. A folder, a socket or a block device is refused.
 */
export async function openOutputFile(path: string, field: string, tempSuffix: string): Promise<OutputFile> {
  const target = await inspectOutput(path);
  switch (target.kind) {
    case "stream":
      return { target, writePath: target.given, renameTo: undefined };
    case "folder":
      throw refuse(field, path, "is a folder", "name the file to write, e.g. -o out.jsonl");
    case "other":
      throw refuse(field, path, `is ${target.what}`, "write to a file, a character device or a named pipe");
    default:
      await makeFolder(dirname(target.real));
      return { target, writePath: `${target.real}${tempSuffix}`, renameTo: target.real };
  }
}

/**
 * Refuses an output path that is the folder being read or lies inside it — compared as real
 * paths, so `..` and symlinks do not get round it. `allow` may let some paths inside through
 * (the report's default DIR/report.html).
 */
export async function refuseInsideFolder(
  output: string,
  folder: string,
  field: string,
  allow: (relative: string) => boolean = () => false,
): Promise<void> {
  let realFolder: string;
  try {
    realFolder = await realPathOf(folder);
  } catch {
    return; // an unreadable folder fails where it is read, with its own message
  }
  const realOutput = await realPathOf(output);
  if (!isWithin(realOutput, realFolder)) return;
  if (realOutput !== realFolder && allow(realOutput.slice(realFolder.length + 1))) return;
  throw refuse(field, output, `is inside the folder being read (${folder})`, "write it elsewhere");
}
