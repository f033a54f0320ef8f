"""The LLM judge: the configured chat model reads each cited sentence beside the evidence the offline
judge found (its best verbatim quote, and the start of the passage) and says which of the four
verdicts holds. One structured-JSON request per answer (batches of `BATCH`), read leniently by
assistant.llm.structured.

Its verdict wins where its reply parses, with one exception: below `verify_llm_floor` the passage
shares almost nothing with the sentence, and a "supported" there is not taken (a 135M model calls
anything supported) — unless the sentence is in another language than its passage, where the offline
judge has no score to give and the model is the only judge (an answer in the question's language).
Where the reply cannot be read, or the model fails, the offline verdicts stand and each check keeps
the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from assistant.answers.citations import Source, format_sources
from assistant.answers.verify.offline import OTHER_LANGUAGE, Claim, OfflineJudge
from assistant.errors import LLMError
from assistant.llm.client import ChatModel
from assistant.llm.prompts import JUDGE_SYSTEM, judge_evidence, judge_evidence_title, judge_user, messages_for
from assistant.llm.structured import ask_structured
from assistant.models import Paper, SentenceCheck, Verdict
from assistant.settings import Settings

BATCH = 16  # sentences per request: an answer's worth, and a prompt a small context still holds
PASSAGE_CHARS = 700  # of the cited passage shown beside the quote

_ALIASES: dict[str, Verdict] = {
    "supported": "supported",
    "support": "supported",
    "yes": "supported",
    "true": "supported",
    "partly_supported": "partly_supported",
    "partially_supported": "partly_supported",
    "partial": "partly_supported",
    "partly": "partly_supported",
    "contradicted": "contradicted",
    "contradict": "contradicted",
    "contradicts": "contradicted",
    "refuted": "contradicted",
    "not_found": "not_found",
    "not_supported": "not_found",
    "unsupported": "not_found",
    "not_enough_info": "not_found",
    "no": "not_found",
    "false": "not_found",
}


class JudgeItem(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    i: int = Field(validation_alias=AliasChoices("i", "sentence", "n", "id", "index"))
    verdict: str


class JudgeReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    verdicts: list[JudgeItem]


def read_verdict(word: str) -> Verdict | None:
    return _ALIASES.get(re.sub(r"[\s-]+", "_", word.strip().lower()).strip("_."))


def _messages(claims: Sequence[Claim], checks: Sequence[SentenceCheck]) -> list[dict[str, str]]:
    blocks = []
    for i, (claim, check) in enumerate(zip(claims, checks), start=1):
        first = claim.passages[0] if claim.passages else None
        passage = next((p for p in claim.passages if p.n == check.source), first)
        evidence = check.quote or (passage.text[:PASSAGE_CHARS] if passage else "")
        context = passage.text[:PASSAGE_CHARS] if passage else ""
        paper = Paper(id=check.paper_id or f"s{i}", title=judge_evidence_title(i))
        blocks.append((claim.text, format_sources([Source(i, paper, judge_evidence(evidence, context))])))
    return messages_for(JUDGE_SYSTEM, judge_user(blocks))


class LLMJudge:
    """The LLM judge behind the judges' one interface (`check_all`): the offline verdicts first (its
    evidence and its fallback), then the model's where its reply gives one."""

    name = "llm"

    def __init__(self, llm: ChatModel, offline: OfflineJudge, settings: Settings) -> None:
        self.llm = llm
        self.offline = offline
        self.settings = settings

    def check_all(self, claims: Sequence[Claim]) -> list[SentenceCheck]:
        checks = self.offline.check_all(claims)
        return llm_judge(self.llm, claims, checks, self.settings) if claims else checks


def llm_judge(
    llm: ChatModel, claims: Sequence[Claim], offline: Sequence[SentenceCheck], settings: Settings
) -> list[SentenceCheck]:
    """The offline checks, with the model's verdict where its reply gives one (see the module)."""
    out = list(offline)
    for start in range(0, len(claims), BATCH):
        part = slice(start, start + BATCH)
        batch, checks = list(claims[part]), list(offline[part])
        try:
            parsed = ask_structured(llm, _messages(batch, checks), JudgeReply)
        except LLMError as exc:
            for k in range(len(batch)):
                out[start + k] = checks[k].model_copy(update={"reason": f"LLM judge failed ({exc}); offline verdict"})
            continue
        said = {item.i: read_verdict(item.verdict) for item in (parsed.value.verdicts if parsed.value else [])}
        for k, check in enumerate(checks):
            verdict = said.get(k + 1)
            if verdict is None:
                why = parsed.problem or "the judge's reply gave no verdict for this sentence"
                out[start + k] = check.model_copy(update={"reason": f"LLM judge: {why}; offline verdict"})
            elif (
                verdict in ("supported", "partly_supported")
                and check.score < settings.verify_llm_floor
                and check.reason != OTHER_LANGUAGE  # a score the offline judge could not give
            ):
                out[start + k] = check.model_copy(
                    update={"reason": f"LLM judge said {verdict}, but the passage shares almost nothing with it"}
                )
            else:
                out[start + k] = check.model_copy(update={"verdict": verdict, "judge": "llm", "reason": ""})
    return out
