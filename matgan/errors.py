"""The exceptions matgan raises for problems a user can fix (bad files, bad values)."""


class MatganError(Exception):
    """A problem with the user's input or environment; the CLI prints it as one line and exits 2."""


class CheckpointError(MatganError):
    """A file that is not a loadable matgan checkpoint, or one of the wrong kind."""


class TrainingDiverged(MatganError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
