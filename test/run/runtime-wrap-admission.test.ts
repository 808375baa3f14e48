// buildRuntime's wrapAdmission hook: what a queue worker uses to chain each endpoint's local
// budget to the cluster-wide one in Redis (src/queue/worker.ts). Every rate-limited model's
// admission goes through it, with its endpoint key and configured limit; local models do not.
import { describe, expect, it } from "vitest";
import type { Admission } from "../../src/limits/types.js";
import { buildRuntime } from "../../src/run/runtime.js";
import { ConvosimConfig } from "../../src/schema/config.js";

describe("buildRuntime({ wrapAdmission })", () => {
  it("wraps each hosted endpoint's admission and hands the wrapper to the models", async () => {
    const hosted = {
      provider: "openai",
      model: "m",
      base_url: "http://127.0.0.1:9/v1",
      api_key_env: "WRAP_TEST_KEY",
      rate_limit: { rpm: 3000 },
    };
    const config = ConvosimConfig.parse({
      interaction_generation: { assistant_model: hosted, user_model: { ...hosted, model: "u" } },
    });
    const seen: Array<{ endpointKey: string; rpm: number | undefined }> = [];
    const wrappers: Admission[] = [];
    const runtime = await buildRuntime(config, {
      env: { WRAP_TEST_KEY: "k" },
      wrapAdmission: (local, endpointKey, limit) => {
        seen.push({ endpointKey, rpm: limit?.rpm });
        const wrapper = { ...local } as Admission; // a distinct object, to see which one is used
        wrappers.push(wrapper);
        return wrapper;
      },
    });
    try {
      expect(seen).toHaveLength(2);
      for (const entry of seen) {
        expect(entry.rpm).toBe(3000);
        expect(entry.endpointKey).toContain("127.0.0.1:9");
        expect(entry.endpointKey).toContain("WRAP_TEST_KEY"); // the key variable by name
      }
      const assistant = runtime.pool.choose(1).model;
      expect(runtime.admissionFor(assistant)).toBe(wrappers[0]);
    } finally {
      await runtime.close();
    }
  });
});
