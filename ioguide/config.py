"""Settings, from environment variables prefixed IOGUIDE_ (and a .env file). Only entry points build Settings;
library functions take plain arguments, and use the constants below as their parameter defaults: each default is
written once, here."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DB_FILENAME = "ioguide.sqlite3"  # in data_dir: conversations, feedback, audit, accreditation wording and drafts

# retrieval: the fusion weights of BM25, chunk vectors and sentence max-sim; the candidate pool; the size up to
# which dense search runs exactly in memory (ioguide/vectors.py)
W_BM25 = 0.35
W_DENSE = 0.25
W_SENTENCE = 0.40
CANDIDATES = 100
EXACT_SEARCH_MAX_VECTORS = 100_000
# answering with an LLM: budgets
LLM_TIMEOUT_S = 60.0
LLM_CONTEXT_CHARS = 12000  # passage text sent to the LLM (about 3000 tokens)
LLM_MAX_TOKENS = 512  # the longest reply asked for
# ingestion limits for untrusted files
MAX_FILE_MB = 50.0
MAX_PDF_PAGES = 2000
MAX_LOAD_SECONDS = 300.0  # per file, checked between pages / blocks


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOGUIDE_", env_file=".env", extra="ignore")

    index_dir: Path = Field(default=PROJECT_ROOT / "index", description="Where the embedded index lives.")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Feedback, drafts, audit, uploads.")
    chroma_url: str = Field(default="", description="http://host:port of a `chroma run` server; empty: embedded.")
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    embedder: str = "minilm"
    embedder_path: str = ""  # a local sentence-transformers model folder, for embedder="local"
    # retrieval
    k: int = 5
    candidates: int = CANDIDATES
    exact_search_max_vectors: int = Field(
        default=EXACT_SEARCH_MAX_VECTORS,
        description="Dense search runs exactly in memory up to this many vectors (chunks + sentences, about 1.5 KB "
                    "each); above it, through Chroma's HNSW. 0: always HNSW.")
    w_bm25: float = W_BM25
    w_dense: float = W_DENSE
    w_sentence: float = W_SENTENCE
    abstain_threshold: float = Field(default=-1.0,
                                     description="Relevance below this abstains; <0: use the calibration file.")
    # answering
    llm: str = "none"  # none | openai | ollama | llamacpp
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = LLM_TIMEOUT_S
    llm_model_path: str = ""  # GGUF file for llm=llamacpp
    llm_context_chars: int = LLM_CONTEXT_CHARS
    llm_max_tokens: int = LLM_MAX_TOKENS
    # ingestion limits
    max_file_mb: float = MAX_FILE_MB
    max_pdf_pages: int = MAX_PDF_PAGES
    max_load_seconds: float = MAX_LOAD_SECONDS
    # app
    auth: str = "none"  # none | local | oidc
    oidc_role_claim: str = "groups"  # OIDC: the ID-token claim naming the user's role (groups, roles, ...)
    users_file: Path = PROJECT_ROOT / "data" / "users.json"
    audit_retention_days: int = 3650

    @property
    def db_path(self) -> Path:
        """The local SQLite file: conversations, feedback, audit, accreditation wording and drafts."""
        return Path(self.data_dir) / DB_FILENAME


def get_settings() -> Settings:
    return Settings()
