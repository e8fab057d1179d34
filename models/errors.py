"""User-facing errors.

Every error a researcher can cause (bad file, unknown code, span outside the text) is a ``WaveqdaError``
whose message is one readable line. The CLI prints it and exits non-zero; the TUI shows it in a
notification. Anything else escaping is a bug.
"""


class WaveqdaError(Exception):
    """A problem with the user's input or project, explained in one line."""


class StaleError(WaveqdaError):
    """The row a change was meant for was changed or removed by someone else since it was read (another
    process on the same file, a colleague on the same database): nothing was changed."""


class NotFoundError(WaveqdaError):
    """A named thing (code, transcript, participant, coding...) does not exist."""


class ImportRefused(WaveqdaError):
    """A file was refused by an importer; the message names the file and the reason."""
