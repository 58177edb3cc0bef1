"""thecal: open software for intrathecal baclofen pump therapy."""

__version__ = "0.1.0"
