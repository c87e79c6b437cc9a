"""The prompt a ``replies`` model is trained on and served with.

Training records the template in the model's ``queuebot.json`` and serving reads it back from there, so a
model is always prompted in exactly the format it learnt, even after this module's defaults change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# Training fills {context} and {history} with nothing: the data holds single questions. Serving may add
# earlier turns and context lines in front; the model sees them as more of the same dialogue format.
PROMPT_TEMPLATE = "{context}{history}Customer: {question}\nAgent:"
TURN_TEMPLATE = "Customer: {question}\nAgent: {reply}\n"
CONTEXT_TEMPLATE = "Context: {text}\n"
# The reply follows "Agent:" after one space: GPT-2's byte-level BPE has space-prefixed word tokens, so
# " I understand" tokenises the same way on its own as after the prompt.
REPLY_SEPARATOR = " "
# Tokens a reply may take, at most half the context window: most replies in the support data take
# 70-200 tokens (of a corpus-trained BPE; fewer of GPT-2's). Training cuts longer replies at the same
# point, so a model learns to reply within what serving lets it write.
DEFAULT_REPLY_TOKENS = 192


def reply_token_budget(context_size: int) -> int:
    return min(DEFAULT_REPLY_TOKENS, context_size // 2)


_DATA_KEYS = {"prompt": "prompt_template", "turn": "turn_template", "context": "context_template"}


def one_line(text: str) -> str:
    """Collapse whitespace, so a customer's text can never start a new ``Agent:`` line of its own."""
    return " ".join(text.split())


@dataclass(frozen=True)
class ReplyTemplate:
    prompt: str = PROMPT_TEMPLATE
    turn: str = TURN_TEMPLATE
    context: str = CONTEXT_TEMPLATE

    def to_data(self) -> dict[str, str]:
        """The entries written into ``ModelInfo.data``."""
        return {key: getattr(self, field) for field, key in _DATA_KEYS.items()}

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> ReplyTemplate:
        values = {field: data.get(key) for field, key in _DATA_KEYS.items()}
        missing = [_DATA_KEYS[field] for field, value in values.items() if not isinstance(value, str)]
        if missing:
            raise ValueError(f"the model's info lacks the reply prompt template (missing {missing})")
        return cls(**values)  # type: ignore[arg-type]

    def format(
        self, question: str, history: Sequence[tuple[str, str]] = (), context: Sequence[str] = ()
    ) -> str:
        """The prompt for ``question`` after earlier (question, reply) turns and context lines."""
        return self.prompt.format(
            context="".join(self.context.format(text=one_line(text)) for text in context),
            history="".join(self.turn.format(question=one_line(q), reply=r.strip()) for q, r in history),
            question=one_line(question),
        )

    def fit(
        self,
        question: str,
        history: Sequence[tuple[str, str]],
        context: Sequence[str],
        count_tokens: Callable[[str], int],
        budget: int,
    ) -> str:
        """The prompt with as much of ``context`` and ``history`` as fits in ``budget`` tokens.

        ``context`` is best first: the least relevant lines go first, then the oldest turns. Training
        builds its prompts through here too, so a model sees the same context at serving time as it
        learnt with. A question that alone is still too long is the caller's to cut.
        """
        context, history = list(context), list(history)
        prompt = self.format(question, history, context)
        while (context or history) and count_tokens(prompt) > budget:
            if context:
                context.pop()
            else:
                history.pop(0)
            prompt = self.format(question, history, context)
        return prompt
