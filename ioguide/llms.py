"""LLM backends (LangChain chat models behind one small wrapper) in a small registry, prompt rendering from
prompts/*.txt, and follow-up rewriting. Answering with an LLM (prompt, verification, fallback) is
ioguide.llm_answer; the verifier is ioguide.verify.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from .config import LLM_CONTEXT_CHARS, LLM_MAX_TOKENS, LLM_TIMEOUT_S, PROJECT_ROOT
from .errors import LLMError, UnknownBackendError
from .retrieve import doc_label
from .text import content_terms
from .types import Hit

PROMPTS_DIR = PROJECT_ROOT / "prompts"

DEFAULT_CONTEXT_CHARS = LLM_CONTEXT_CHARS  # passage text sent to the LLM (about 3000 tokens)
DEFAULT_MAX_TOKENS = LLM_MAX_TOKENS  # the longest reply asked for


def _context_chars(settings) -> int:
    return int(getattr(settings, "llm_context_chars", DEFAULT_CONTEXT_CHARS))


def _max_tokens(settings) -> int:
    return int(getattr(settings, "llm_max_tokens", DEFAULT_MAX_TOKENS))


# ---------------------------------------------------------------- backends

class LLM(Protocol):
    """What the answer path needs from a backend: a LangChain chat model and how long to wait for it."""

    name: str
    timeout_s: float
    context_chars: int

    @property
    def chat_model(self) -> Any: ...

    def chat(self, messages: list, on_token: Callable[[str], None] | None = None) -> str: ...


class ChatLLM:
    """A LangChain chat model with a name and a timeout. chat_model may be given as a factory: it is then built on
    first use, so constructing the wrapper never loads weights or opens a connection."""

    def __init__(self, name: str, chat_model: Any | None = None, factory: Callable[[], Any] | None = None,
                 timeout_s: float = LLM_TIMEOUT_S, context_chars: int = DEFAULT_CONTEXT_CHARS):
        if chat_model is None and factory is None:
            raise ValueError("ChatLLM needs chat_model or factory")
        self.name = name
        self.timeout_s = float(timeout_s)
        self.context_chars = int(context_chars)
        self._chat_model = chat_model
        self._factory = factory
        self._lock = threading.Lock()

    @property
    def chat_model(self) -> Any:
        if self._chat_model is None:
            with self._lock:
                if self._chat_model is None:
                    assert self._factory is not None
                    self._chat_model = self._factory()
        return self._chat_model

    def chat(self, messages: list, on_token: Callable[[str], None] | None = None) -> str:
        """The model's reply to messages. With on_token, tokens are streamed to it as they arrive. Raises
        TimeoutError past timeout_s, and whatever the backend raises (connection refused, HTTP errors)."""
        model = self.chat_model  # a local model loads its weights here, outside the deadline
        deadline = time.monotonic() + self.timeout_s
        if on_token is not None:
            parts: list[str] = []
            for chunk in model.stream(messages):
                piece = _content_text(chunk)
                if piece:
                    parts.append(piece)
                    on_token(piece)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"timed out after {self.timeout_s:g} s")
            return "".join(parts)
        return _content_text(_call_with_deadline(lambda: model.invoke(messages), self.timeout_s))

    def __repr__(self) -> str:
        return f"ChatLLM({self.name!r})"


def _call_with_deadline(fn: Callable[[], Any], timeout_s: float) -> Any:
    """fn() in a daemon thread; TimeoutError if it has not returned within timeout_s. Backends with their own
    client timeout stop by themselves; for the others (a local model) this bounds the wait."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=run, name="ioguide-llm", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"timed out after {timeout_s:g} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _content_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str) or isinstance(b, dict))
    return str(content or "")


def _openai(settings) -> ChatLLM:
    def factory():
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=settings.llm_base_url or None, api_key=settings.llm_api_key or "not-needed",
                          model=settings.llm_model or "default", timeout=settings.llm_timeout_s, max_retries=0,
                          temperature=0, max_tokens=_max_tokens(settings))

    if importlib.util.find_spec("langchain_openai") is None:
        raise LLMError("IOGUIDE_LLM=openai needs the langchain-openai package: pip install langchain-openai")
    return ChatLLM("openai", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


def _ollama(settings) -> ChatLLM:
    if importlib.util.find_spec("langchain_ollama") is None:
        raise LLMError("IOGUIDE_LLM=ollama needs the langchain-ollama package: pip install langchain-ollama")
    if not settings.llm_model:
        raise LLMError("IOGUIDE_LLM=ollama needs IOGUIDE_LLM_MODEL, the name of a pulled model (e.g. llama3.2).")

    def factory():
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or None, temperature=0,
                          num_predict=_max_tokens(settings), client_kwargs={"timeout": settings.llm_timeout_s})

    return ChatLLM("ollama", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


def _llamacpp(settings) -> ChatLLM:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMError("IOGUIDE_LLM=llamacpp needs llama-cpp-python: pip install llama-cpp-python")
    path = settings.llm_model_path
    if not path or not Path(path).is_file():
        raise LLMError(f"IOGUIDE_LLM=llamacpp needs IOGUIDE_LLM_MODEL_PATH to name a local .gguf file (got {path!r}).")

    def factory():
        from langchain_community.chat_models import ChatLlamaCpp

        # Loads the weights: only on first use.
        n_ctx = max(4096, _context_chars(settings) // 3 + _max_tokens(settings) + 1024)  # passages + prompt + reply
        return ChatLlamaCpp(model_path=str(path), n_ctx=n_ctx, n_batch=256, max_tokens=_max_tokens(settings),
                            temperature=0.0, verbose=False)

    return ChatLLM("llamacpp", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


BACKENDS: dict[str, Callable[[Any], ChatLLM]] = {"openai": _openai, "ollama": _ollama, "llamacpp": _llamacpp}


def build_llm(name: str, settings) -> ChatLLM:
    """The named backend, configured from settings (llm_model, llm_base_url, llm_api_key, llm_timeout_s,
    llm_model_path). Cheap: nothing connects, loads or downloads until the first question."""
    if name not in BACKENDS:
        raise UnknownBackendError(f"Unknown LLM backend {name!r}. Valid: {', '.join(sorted(BACKENDS))}.")
    return BACKENDS[name](settings)


# ---------------------------------------------------------------- prompts

@lru_cache(maxsize=16)
def load_prompt(name: str) -> str:
    """The text of prompts/<name>.txt."""
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LLMError(f"Prompt template {path} is missing: {exc.strerror or exc}") from exc


_ROLE_LINE = re.compile(r"^\[(system|user)\]\s*$", re.M)


def fill_template(template: str, **values: str) -> str:
    """template with each {name} replaced by values[name]; values are inserted verbatim, never re-read as
    template, so braces in passages are harmless."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def render_messages(name: str, **values: str) -> list:
    """The chat messages of prompts/<name>.txt: its [system] and [user] sections, {placeholders} filled."""
    from langchain_core.messages import HumanMessage, SystemMessage

    template = load_prompt(name)
    parts = _ROLE_LINE.split(template)
    messages = []
    for role, body in zip(parts[1::2], parts[2::2], strict=True):
        text = fill_template(body.strip(), **values)
        messages.append(SystemMessage(text) if role == "system" else HumanMessage(text))
    if not messages:
        messages.append(HumanMessage(template.strip()))
    return messages


def format_passages(hits: list[Hit], budget_chars: int) -> tuple[str, int]:
    """The numbered passages for the prompt and how many were included: hits in order while they fit budget_chars
    (the first always, cut to the budget if it alone is longer)."""
    blocks: list[str] = []
    used = 0
    for n, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        text = chunk.text
        if used + len(text) > budget_chars:
            if blocks:
                break
            text = text[:budget_chars]
        source = doc_label(chunk) + (f" — {chunk.section}" if chunk.section else "")
        if chunk.page_start:
            source += f" (page {chunk.page_start})"
        blocks.append(fill_template(load_prompt("passage").strip(), n=str(n), source=source, text=text))
        used += len(text)
    return "\n\n".join(blocks), len(blocks)


# ---------------------------------------------------------------- follow-up rewriting

_REWRITE_LABEL = re.compile(r"^\s*(?:standalone (?:question|query)|rewritten (?:question|query)|question|query)\s*:\s*",
                            re.I)


def rewrite_with_llm(llm: LLM, question: str, history: list[str]) -> str | None:
    """A standalone query for a follow-up question, written by the LLM; None when it fails, times out or replies
    with something unusable (the caller then uses ioguide.answer.rewrite_follow_up)."""
    if not history:
        return None
    messages = render_messages("rewrite", question=question,
                               history="\n".join(f"- {h}" for h in history[-4:]))
    try:
        output = llm.chat(messages)
    except Exception:
        return None
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return None
    query = _REWRITE_LABEL.sub("", lines[0]).strip().strip("\"'`").strip()
    if not content_terms(query) or len(query) > 400:
        return None
    return query
