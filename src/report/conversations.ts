// The browsable sample: filter controls and one <details> per conversation, rendered on the
// server with every text escaped. Filters work on data-* attributes (see client.ts), so the
// page needs no JSON parsing or DOM building in the browser and reads fine with scripts off.
import { highlightChanges } from "./diff.js";
import { clip, escapeHtml } from "./escape.js";
import type { SampledConversation, SampledMessage } from "./sample.js";

const MAX_FEATURE_KEYS = 30;
const MAX_VALUES_PER_KEY = 30;

/** The feature filter's options: "key = value" pairs seen in the sample, most common first. */
export function featureOptions(sample: readonly SampledConversation[]): Map<string, Map<string, string>> {
  const counts = new Map<string, Map<string, number>>();
  for (const conversation of sample) {
    for (const [key, values] of Object.entries(conversation.features)) {
      const byValue = counts.get(key) ?? new Map<string, number>();
      counts.set(key, byValue);
      for (const value of values) byValue.set(value, (byValue.get(value) ?? 0) + 1);
    }
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  const keys = [...counts.entries()]
    .sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]))
    .slice(0, MAX_FEATURE_KEYS);
  // key → value → option id ("f0", "f1", …): short tokens for the data-features attribute.
  const options = new Map<string, Map<string, string>>();
  let next = 0;
  for (const [key, byValue] of keys) {
    const values = [...byValue.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, MAX_VALUES_PER_KEY);
    options.set(key, new Map(values.map(([value]) => [value, `f${next++}`])));
  }
  return options;
}

const distinct = (values: Iterable<string>) => [...new Set(values)].sort();

function select(id: string, label: string, options: string): string {
  return `<label>${escapeHtml(label)} <select id="${id}"><option value="">any</option>${options}</select></label>`;
}

const plainOptions = (values: readonly string[]) =>
  values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join("");

function filters(sample: readonly SampledConversation[], features: Map<string, Map<string, string>>): string {
  const featureSelect = [...features.entries()]
    .map(
      ([key, values]) =>
        `<optgroup label="${escapeHtml(key)}">${[...values.entries()]
          .map(([value, id]) => `<option value="${id}">${escapeHtml(`${key} = ${clip(value, 60)}`)}</option>`)
          .join("")}</optgroup>`,
    )
    .join("");
  return [
    '<form class="filters" id="filters">',
    select("f-feature", "Persona feature", featureSelect),
    select("f-model", "Assistant model", plainOptions(distinct(sample.map((c) => c.assistant_model)))),
    select("f-stop", "Stop reason", plainOptions(distinct(sample.map((c) => c.stop_reason)))),
    select(
      "f-noise",
      "Noise",
      '<option value="noised">noised</option><option value="clean">not noised</option>',
    ),
    '<label>Text <input type="search" id="f-text" placeholder="words in the conversation"></label>',
    '<button type="button" id="f-reset">Reset</button>',
    '<button type="button" id="f-expand">Expand shown</button>',
    '<button type="button" id="f-collapse">Collapse all</button>',
    "</form>",
  ].join("");
}

function message(m: SampledMessage): string {
  const role = escapeHtml(m.role);
  if (m.clean === undefined) {
    return `<div class="msg ${role}"><div class="role">${role}</div><div class="text">${escapeHtml(m.content)}</div></div>`;
  }
  const marked = highlightChanges(m.clean, m.content);
  const how = [m.noise?.layer, ...(m.noise?.strategies ?? [])].filter((s): s is string => !!s);
  return [
    `<div class="msg ${role} noised"><div class="role">${role} <span class="pill noised">noised</span>`,
    how.length > 0 ? ` <span class="how">${escapeHtml(how.join(" · "))}</span>` : "",
    '</div><div class="pair">',
    `<div><div class="side">clean</div><div class="text clean">${marked.clean}</div></div>`,
    `<div><div class="side">noisy (what the assistant saw)</div><div class="text noisy">${marked.noisy}</div></div>`,
    "</div></div>",
  ].join("");
}

function conversation(c: SampledConversation, features: Map<string, Map<string, string>>): string {
  const ids = Object.entries(c.features).flatMap(([key, values]) =>
    values.map((value) => features.get(key)?.get(value)).filter((id): id is string => id !== undefined),
  );
  const featureText = Object.entries(c.features)
    .map(([key, values]) => `${key}: ${values.join(", ")}`)
    .join(" · ");
  return [
    `<details class="conv" data-model="${escapeHtml(c.assistant_model)}" data-stop="${escapeHtml(c.stop_reason)}"`,
    ` data-noised="${c.noised ? "1" : "0"}" data-features="${ids.join(" ")}">`,
    `<summary><span class="cid">${escapeHtml(c.interaction_id)}</span>`,
    ` <span class="pill">${escapeHtml(c.assistant_model)}</span> <span class="pill">${escapeHtml(c.stop_reason)}</span>`,
    ` <span class="turns">${c.num_turns} turns</span>`,
    c.noised ? ' <span class="pill noised">noised</span>' : "",
    ` <span class="persona">${escapeHtml(clip(`${c.persona_id} — ${featureText}`, 140))}</span></summary>`,
    `<div class="meta">persona ${escapeHtml(c.persona_id)} · user model ${escapeHtml(c.user_model)}`,
    featureText ? `<br>${escapeHtml(featureText)}` : "",
    "</div>",
    `<div class="messages">${c.messages.map(message).join("")}</div>`,
    "</details>",
  ].join("");
}

export function conversationsSection(
  sample: readonly SampledConversation[],
  info: { total: number; seed: number },
): string {
  const features = featureOptions(sample);
  const list = sample.map((c) => conversation(c, features)).join("\n");
  const of =
    sample.length < info.total
      ? `A sample of ${sample.length} of ${info.total} conversations, chosen by seed ${info.seed} (the same seed gives the same sample).`
      : `All ${info.total} conversations.`;
  return [
    '<section id="conversations"><h2>Conversations</h2>',
    `<p>${escapeHtml(of)} Noised user messages show the clean text next to the noisy one, changed words marked.</p>`,
    filters(sample, features),
    `<p class="count"><span id="shown-count">${sample.length}</span> of <span id="sample-count">${sample.length}</span> shown</p>`,
    `<div id="conversation-list">\n${list}\n</div>`,
    sample.length === 0 ? "<p>No conversations in this folder yet.</p>" : "",
    "</section>",
  ].join("\n");
}
