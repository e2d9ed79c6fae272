"""Settings, from environment variables prefixed IOGUIDE_ (and a .env file). Only entry points build Settings;
library functions take plain arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DB_FILENAME = "ioguide.sqlite3"


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
    candidates: int = 100
    exact_search_max_vectors: int = Field(
        default=100_000, description="Dense search runs exactly in memory up to this many vectors (chunks + "
                                     "sentences, about 1.5 KB each); above it, through Chroma's HNSW. 0: always HNSW.")
    w_bm25: float = 0.35
    w_dense: float = 0.25
    w_sentence: float = 0.40
    abstain_threshold: float = Field(default=-1.0,
                                     description="Relevance below this abstains; <0: use the calibration file.")
    # answering
    llm: str = "none"  # none | openai | ollama | llamacpp
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 60.0
    llm_model_path: str = ""  # GGUF file for llm=llamacpp
    llm_context_chars: int = 12000  # passage text sent to the LLM at most
    llm_max_tokens: int = 512
    # ingestion limits
    max_file_mb: float = 50.0
    max_pdf_pages: int = 2000
    max_load_seconds: float = 300.0
    # app
    auth: str = "none"  # none | local | oidc
    users_file: Path = PROJECT_ROOT / "data" / "users.json"
    audit_retention_days: int = 3650

    @property
    def db_path(self) -> Path:
        """The local SQLite file: conversations, feedback, audit, accreditation wording and drafts."""
        return Path(self.data_dir) / DB_FILENAME


def get_settings() -> Settings:
    return Settings()
