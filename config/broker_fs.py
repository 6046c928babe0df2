"""kombu's on-disk transport, with messages written atomically.

kombu's filesystem transport creates a message file and then writes into
it; a worker polling at that moment can take the still-empty file and die
on it ("Unrecoverable error: JSONDecodeError"). Here a message is written
under a name the reader ignores and renamed into place, so readers only
ever see whole messages. Used for the embedded, server-less default broker.
"""
from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # The reader only takes files named "<stamp>_<uuid>.<queue>.msg".
        partial = os.path.join(self.data_folder_out, f"partial-{name}.part")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
