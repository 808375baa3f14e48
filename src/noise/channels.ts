// The input channels a message can come through, in a module that imports nothing: the CLI
// lists them in `noise --help`, which must not load the noise layers (and their lexicon) to do so.
export const CHANNELS = ["desktop", "mobile_autocorrect", "mobile_raw", "voice", "paste"] as const;
export type Channel = (typeof CHANNELS)[number];
