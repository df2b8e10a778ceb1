"""The embedded broker (no REDIS_URL): kombu's filesystem transport, whole messages only.

kombu writes a message straight into its final file, so a worker polling the folder can take the
file before its bytes are in it (the web publishing while a worker looks), and a process stopped
mid-write (Ctrl-C on `make demo`) leaves an empty file that stops the next worker reading it —
and the demo with it. Here a message is written under a name no consumer reads and renamed into
place (a rename within a folder is atomic); a file that still is not a message is skipped with a
warning: the row it would have woken is in the database, and the sweeper sends its wake-up again.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    # kombu's filesystem Channel calls the argument `payload`, its base class `message`: keep kombu's.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's own name (its consumers sort by it), written first under a dot name they skip.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        while True:
            try:
                return super()._get(queue)
            except ValueError as error:  # an empty or cut-off file: not a message (Empty ends the loop)
                logger.warning("skipped a broken message file in queue %s (%s); the sweeper sends its "
                               "wake-up again", queue, error)


class Transport(filesystem.Transport):
    Channel = Channel
