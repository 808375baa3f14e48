// Everything the distractor decides once, at creation: layer weights (config, then the strategy
// file for the layers it names), strategy settings (built-in, strategy file, then
// distractor.strategies, name by name), split into the surface and semantic ones, and the
// persona steering of semantic strategies.
import type { DistractorConfig } from "../schema/config.js";
import { LayerWeights, type StrategySetting } from "../schema/noise.js";
import {
  checkImplemented,
  checkStrategyName,
  DistractorConfigError,
  REFERENCE_LAYERS,
  readStrategyFile,
  type StrategyCatalog,
} from "./distractor-strategies.js";
import { surfaceNoise, surfaceStrategyNames } from "./distractor-surface.js";
import { semanticScale } from "./semantic/steering.js";
import { type SemanticStrategy, semanticStrategy } from "./semantic/strategies.js";

/** The rule-based layers as the distractor calls them (applyNoise's signature). */
export type SurfaceNoise = typeof surfaceNoise;

export interface DistractorSettings {
  layerWeights: LayerWeights;
  surfaceSettings: Record<string, StrategySetting>;
  semanticSettings: Record<string, StrategySetting>;
  surface: SurfaceNoise;
  /** The multiplier of each semantic strategy's probability for one persona. */
  scale(features: Readonly<Record<string, unknown>>, seed?: number): (strategy: SemanticStrategy) => number;
}

const DEFAULT_WEIGHTS = LayerWeights.parse({});

/** Strategy names the rule-based layers act on: their own names and the reference names they map. */
export function strategyCatalog(): StrategyCatalog {
  return { surface: surfaceStrategyNames() };
}

export function buildSettings(
  config: DistractorConfig,
  options: { surface?: SurfaceNoise; configName?: string } = {},
): DistractorSettings {
  const catalog = strategyCatalog();
  const configName = options.configName;
  const fromFile = config.strategy_path ? readStrategyFile(config.strategy_path, catalog) : { settings: {} };

  const layerWeights: LayerWeights = { ...config.layer_weights };
  for (const layer of REFERENCE_LAYERS) {
    const fileWeight = fromFile.layerWeights?.[layer];
    if (fileWeight === undefined) continue;
    // Both places setting one weight would leave one silently ignored.
    if (config.layer_weights[layer] !== DEFAULT_WEIGHTS[layer])
      throw new DistractorConfigError(
        configName,
        `distractor.layer_weights.${layer}`,
        `also set in the strategy file ${config.strategy_path}`,
        "set each layer weight in one place",
      );
    layerWeights[layer] = fileWeight;
  }

  const merged: Record<string, StrategySetting> = { ...fromFile.settings };
  for (const [name, setting] of Object.entries(config.strategies)) {
    checkStrategyName(name, catalog, configName, `distractor.strategies.${name}`);
    checkImplemented(name, setting, catalog, configName, `distractor.strategies.${name}`);
    merged[name] = setting; // a config entry replaces the file's entry for that name
  }
  const surfaceSettings: Record<string, StrategySetting> = {};
  const semanticSettings: Record<string, StrategySetting> = {};
  for (const [name, setting] of Object.entries(merged)) {
    if (semanticStrategy(name)) semanticSettings[name] = setting;
    else surfaceSettings[name] = setting;
  }
  return {
    layerWeights,
    surfaceSettings,
    semanticSettings,
    surface: options.surface ?? surfaceNoise,
    scale: (features, seed) => semanticScale(features, config.steering, seed),
  };
}
