"""The calls a batch makes to an OpenAI-compatible endpoint's files and batches API.

Each call goes through the backend's retry policy
(:meth:`OpenAIBackend.api_call`): transient failures are retried with
backoff, one that fails for good raises
:class:`~skfreeal.labelers.LLMCallError` naming what was being done and the
endpoint, never a credential.

Creating a batch is the one call that must not be repeated blindly: an
attempt whose answer was lost (a timeout, a dropped connection) may have
created it. Each submission is marked with a token in the batch's
``metadata``, and before another attempt the batches are searched for it.
"""

from ._batch_files import ENDPOINT

__all__ = ["BatchAPI", "COMPLETION_WINDOW", "TOKEN_KEY"]

#: The completion window asked for (the one OpenAI offers).
COMPLETION_WINDOW = "24h"
#: The metadata key that carries a submission's token.
TOKEN_KEY = "skfreeal_submission"
# A batch created this long before its record cannot be the record's (clocks differ a little).
_CLOCK_SLACK = 3600.0


class BatchAPI:
    """Upload, create, read, find and download, with the backend's client.

    Parameters
    ----------
    backend : OpenAIBackend
        Its client (``client_``) must be built (:meth:`OpenAIBackend.open`).
    cancel : threading.Event, default=None
        The run's cancellation flag: set, no new attempt is made.
    """

    def __init__(self, backend, cancel=None):
        self.backend = backend
        self.client = backend.client_
        self.cancel = cancel

    def upload(self, content, name):
        """Upload a request file; its id.

        Parameters
        ----------
        content : bytes
            The JSONL lines.
        name : str
            The file name shown by the provider.
        """
        def attempt():
            return self.client.files.create(file=(name, content, "application/jsonl"),
                                           purpose="batch").id

        return self.backend.api_call(attempt, "Uploading a batch file to", self.cancel)

    def create(self, input_file_id, token, created):
        """Create the batch of an uploaded file, marked with ``token``; the batch object.

        An attempt after a failed one first looks for a batch with the
        token (the failed attempt may have created it).
        """
        tries = []

        def attempt():
            if tries:
                found = self._find(token, created)
                if found is not None:
                    return found
            tries.append(1)
            return self.client.batches.create(
                input_file_id=input_file_id, endpoint=ENDPOINT,
                completion_window=COMPLETION_WINDOW, metadata={TOKEN_KEY: token},
            )

        return self.backend.api_call(attempt, "Creating a batch at", self.cancel)

    def retrieve(self, batch_id):
        """The batch object of ``batch_id`` (its status and counts)."""
        return self.backend.api_call(lambda: self.client.batches.retrieve(batch_id),
                                     f"Reading batch {batch_id} at", self.cancel)

    def find(self, token, created):
        """The batch marked with ``token``, or None (listed newest first).

        Parameters
        ----------
        token : str
        created : float
            When its record was written (a Unix time): older batches are
            not searched.
        """
        return self.backend.api_call(lambda: self._find(token, created),
                                     "Listing the batches at", self.cancel)

    def download(self, file_id):
        """The content of an output or error file (bytes)."""
        return self.backend.api_call(lambda: self.client.files.content(file_id).content,
                                     f"Downloading file {file_id} from", self.cancel)

    def _find(self, token, created):
        for batch in self.client.batches.list(limit=100):
            if (batch.metadata or {}).get(TOKEN_KEY) == token:
                return batch
            if batch.created_at is not None and batch.created_at < created - _CLOCK_SLACK:
                return None
        return None
