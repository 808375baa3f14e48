// Checks on the assistant's side of a turn: a refusal is flagged (kept: refusals are real
// data, but a dataset builder must be able to find them); the stop marker is removed, since
// no marker may reach a saved message.
import { findMarker, type MarkerSet, stripMarkers } from "../stop-markers.js";
import { containment, shingles, words } from "../text-similarity.js";

const REFUSAL =
  /^(?:i'?m sorry,? (?:but )?)?(?:i (?:can(?:not|'t)|am unable to|'m unable to|won't|will not) (?:help|assist|comply|provide|do that|fulfil|fulfill|answer|support)|i'?m not able to (?:help|assist|provide)|(?:sorry|unfortunately),? (?:but )?i (?:can(?:not|'t)|am unable to)|as an ai(?: language model)?,? i (?:can(?:not|'t)|am unable))/i;

// The assistant slipping into the user's role: its whole reply is one first-person question, the
// kind the user asks ("How can I visualize my data in Python?"). Seen from small models.
const USER_QUESTION =
  /^(?:(?:how|what|why|where|when|which)\s+(?:\w+\s+)?(?:can|do|should|would|could|will|is|are|does)\s+(?:i|my)\b|(?:can|could|should|do|would|will|is|am|are)\s+(?:i|my)\b)[^.!?\n]*\?$/i;

export interface AssistantCheck {
  content: string;
  refusal: boolean;
  markerStripped: boolean;
  /**
   * The reply is the user's kind of question, or the user's question asked back, not an answer:
   * asked again like an empty reply.
   */
  speaksAsUser: boolean;
}

/** A short question that mostly repeats the user's last message: the question parroted back. */
function parrots(reply: string, lastUser: string | undefined): boolean {
  if (!lastUser || !reply.endsWith("?") || words(reply).length > 40) return false;
  return containment(shingles(reply), shingles(lastUser)) >= 0.5;
}

export function checkAssistantReply(text: string, markers: MarkerSet, lastUser?: string): AssistantCheck {
  const markerStripped = findMarker(text, markers) !== undefined;
  const content = markerStripped ? stripMarkers(text, markers) : text;
  const trimmed = content.trim();
  const speaksAsUser =
    (words(trimmed).length <= 25 && USER_QUESTION.test(trimmed)) || parrots(trimmed, lastUser);
  return { content, refusal: REFUSAL.test(trimmed), markerStripped, speaksAsUser };
}
