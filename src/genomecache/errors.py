"""Exceptions whose message is the one line a user sees."""


class GenomeCacheError(Exception):
    """Base class: the message names what failed and why, on one line."""


class RequestError(GenomeCacheError):
    """A request in the payload is invalid; names the request and the field."""

    def __init__(self, request_id: str, field: str, problem: str) -> None:
        self.request_id, self.field, self.problem = request_id, field, problem
        super().__init__(f"request {request_id}: field {field}: {problem}")


class SourceError(GenomeCacheError):
    """A genome source cannot be fetched (scheme, unreachable, retries exhausted)."""


class IntegrityError(GenomeCacheError):
    """Fetched data failed a check (size, checksum, BGZF EOF, index)."""


class NotFastaError(IntegrityError):
    """The fetched file is not a FASTA (plain, gzip or BGZF)."""
