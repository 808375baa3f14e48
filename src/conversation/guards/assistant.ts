// Checks on the assistant's side of a turn: a refusal is flagged (kept: refusals are real
// data, but a dataset builder must be able to find them); the stop marker is removed, since
// no marker may reach a saved message.
import { findMarker, type MarkerSet, stripMarkers } from "../stop-markers.js";

const REFUSAL =
  /^(?:i'?m sorry,? (?:but )?)?(?:i (?:can(?:not|'t)|am unable to|'m unable to|won't|will not) (?:help|assist|comply|provide|do that|fulfil|fulfill|answer|support)|i'?m not able to (?:help|assist|provide)|(?:sorry|unfortunately),? (?:but )?i (?:can(?:not|'t)|am unable to)|as an ai(?: language model)?,? i (?:can(?:not|'t)|am unable))/i;

export interface AssistantCheck {
  content: string;
  refusal: boolean;
  markerStripped: boolean;
}

export function checkAssistantReply(text: string, markers: MarkerSet): AssistantCheck {
  const markerStripped = findMarker(text, markers) !== undefined;
  const content = markerStripped ? stripMarkers(text, markers) : text;
  return { content, refusal: REFUSAL.test(content.trim()), markerStripped };
}
