// `convosim show DIR [ID]`: one conversation, or the first one and a list of ids. Imported by
// main.ts when the command runs.
import { InputError } from "../config/errors.js";
import { iterateInteractions, unreadableFileLine } from "../run/output-reader.js";
import { formatInteraction, formatListLine } from "../run/show.js";
import { StreamAppender } from "../sinks/append.js";
import { type CorruptFileError, outputPaths, readInteractionFile } from "../sinks/layout.js";
import { interactionFileName } from "../sinks/safe-file-name.js";
import { EXIT } from "./fail.js";
import { requireOutputFolder } from "./output-folder-arg.js";

export async function runShow(dir: string, id: string | undefined): Promise<number> {
  await requireOutputFolder(dir);
  // Writes wait for stdout and fail with EPIPE when the reader has gone (`| head`): reportError
  // then ends quietly, instead of an unhandled 'error' event's stack trace.
  const stdout = new StreamAppender(process.stdout);
  try {
    return await showTo(stdout, dir, id);
  } finally {
    await stdout.close();
  }
}

async function showTo(stdout: StreamAppender, dir: string, id: string | undefined): Promise<number> {
  if (id) {
    const path = `${outputPaths(dir).interactions}/${interactionFileName(id)}`;
    let interaction: Awaited<ReturnType<typeof readInteractionFile>>;
    try {
      interaction = await readInteractionFile(path);
    } catch {
      throw new InputError({
        file: dir,
        message: `no interaction "${id}"`,
        hint: "run `convosim show DIR` to list ids",
      });
    }
    await stdout.append(`${formatInteraction(interaction)}\n`);
    return EXIT.ok;
  }
  let shown = false;
  const onUnreadable = (error: CorruptFileError) => process.stderr.write(`${unreadableFileLine(error)}\n`);
  for await (const interaction of iterateInteractions(dir, { onUnreadable })) {
    if (!shown) {
      await stdout.append(`${formatInteraction(interaction)}\n\nall interactions:\n`);
      shown = true;
    }
    await stdout.append(`${formatListLine(interaction)}\n`);
  }
  if (!shown) await stdout.append("no interactions yet\n");
  return EXIT.ok;
}
