// The personas every generate() runner of the bench feeds in: `count` of them, one query each,
// ids `<prefix>_<n>` (a warm-up and a measured run use different prefixes, so neither resumes
// the other's conversations).
import { map, type Observable, range } from "rxjs";
import type { Persona } from "../src/schema/persona.js";

export function benchPersonas(prefix: string, count: number): Observable<Persona> {
  return range(0, count).pipe(
    map(
      (i): Persona => ({
        persona_id: `${prefix}_${i}`,
        persona_features: { role: "engineer", tech_proficiency: "advanced", communication_style: "casual" },
        queries: [
          {
            original_query: `How should a small team organise project ${i} so that nothing falls through the cracks?`,
          },
        ],
      }),
    ),
  );
}
