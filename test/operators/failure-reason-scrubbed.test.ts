// A failure record's reason is saved in failures.ndjson and printed in the summary: whatever
// error ended the conversation (a provider's, a library's, a bug's), its text carries no URL
// credentials, key-like query parameters or remembered API keys.
import { lastValueFrom, of, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { PriceTable } from "../../src/conversation/pricing.js";
import { conversation } from "../../src/operators/converse.js";
import { styleTransfer } from "../../src/operators/style-transfer.js";
import { FakeChatModel } from "../../src/providers/fake.js";
import { forgetSecrets, rememberSecret } from "../../src/shared/redact-secrets.js";
import { makeDeps, makeTask } from "../support/pipeline-fixtures.js";

const KEY = "sk-remembered-key-1234";
// A plain Error, not a ProviderError: nothing upstream has scrubbed it.
const leaky = () =>
  new Error(`request to http://user:pw-secret@10.0.0.1/v1?token=tok-secret failed (key ${KEY})`);

afterEach(() => forgetSecrets());

describe("failure reasons", () => {
  it("a conversation's failure reason is scrubbed", async () => {
    rememberSecret(KEY);
    const assistant = new FakeChatModel({ respond: leaky });
    const user = new FakeChatModel({ respond: () => "more" });
    const result = await lastValueFrom(
      conversation(makeTask(), makeDeps({ assistant, user, maxRetries: 0, callRetryCount: 0 })),
    );
    expect(result.kind).toBe("failure");
    const reason = result.kind === "failure" ? result.failure.reason : "";
    expect(reason).not.toMatch(/pw-secret|tok-secret|sk-remembered/);
    expect(reason).toContain("http://***@10.0.0.1/v1?token=***");
  });

  it("a failed style transfer's reason (the conversation's preflight failure) is scrubbed", async () => {
    rememberSecret(KEY);
    const model = new FakeChatModel({ respond: leaky });
    const callRetry = { count: 0, baseDelayMs: 1, maxDelayMs: 1 };
    const [task] = await lastValueFrom(
      of(makeTask()).pipe(
        styleTransfer({ model, concurrency: 1, callRetry, prices: new PriceTable() }),
        toArray(),
      ),
    );
    const reason = task?.preflight_error?.reason ?? "";
    expect(reason).toContain("style transfer failed");
    expect(reason).not.toMatch(/pw-secret|tok-secret|sk-remembered/);
  });
});
