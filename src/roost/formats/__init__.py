"""The data-format floor: MXNet's files, byte for byte, under both `prep` and `algorithm`.

RecordIO framing, `IRHeader`, `.idx` (`recordio`), `.lst` image lists (`image_list`), and the image
operations whose arithmetic must match MXNet's (`image`). Nothing here prints: what is skipped is
returned to the caller, or logged to the `roost.formats` logger.
"""
