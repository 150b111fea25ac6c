"""What people see: chat message builders for both channels, images and H5 pages.

``render(reply, channel)`` turns one dialogue reply into the WeChat messages that show it.
"""

from .render import render

__all__ = ["render"]
