"""User-facing errors: each message says what went wrong and what to do about it."""


class IOGuideError(Exception):
    """Base class. str(error) is written for the person reading it."""


class NoIndexError(IOGuideError):
    pass


class ModelMismatchError(IOGuideError):
    pass


class UnknownBackendError(IOGuideError):
    pass


class StoreUnavailableError(IOGuideError):
    pass


class LoadError(IOGuideError):
    """A file could not be read; the message names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class QuestionSetError(IOGuideError):
    pass


class LLMError(IOGuideError):
    pass
