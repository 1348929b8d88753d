"""Data preparation (workshop Lab 1): image lists and RecordIO packing, as MXNet's im2rec."""
