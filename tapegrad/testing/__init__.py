"""Testing helpers (mirrors ``torch.testing``)."""

from ._comparison import assert_close

__all__ = ["assert_close"]
