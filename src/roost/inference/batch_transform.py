"""`roost algorithm transform --ml-dir DIR`: batch transform as the algorithm's container does it, one
answer per input file, in the answer format of its endpoint.

    DIR/model/model.tar.gz             the model (a training job's artifact)
    DIR/input/data/...                 the input files, in the folders they had under the S3 prefix
    DIR/input/config/transform.json    {"ContentType": ..., "Accept": ...} of the transform job
    DIR/output/data/<input file>.out   the answer to each file (what the platform uploads)
    DIR/output/failure                 why the job failed (exit code 1)

Content types, Accept values, the 6 MB payload limit and the error texts are the endpoint's
(`roost.inference.hosting_app`): a file the endpoint would refuse fails the job, naming the file, as
SageMaker's batch transform fails on a record the container refuses.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from roost.algorithm.job_directory import JobDirectory
from roost.algorithm.sagemaker_log import setup_logging
from roost.atomic_file import write_atomically
from roost.errors import UserError
from roost.inference.hosting_app import CONTENT_TYPES, MAX_BODY_BYTES, InvocationError, encode, response_type
from roost.inference.predictor import Predictor
from roost.inference.preprocess import ImageError, Preprocessor

BATCH_SIZE = 16
CONFIG_FILE = "transform.json"
MODEL_FILE = "model.tar.gz"


def _prepare(preprocessor: Preprocessor, path: Path, name: str) -> np.ndarray:
    size = path.stat().st_size
    if size > MAX_BODY_BYTES:
        raise UserError(
            f"ClientError: {name} is {size} bytes; an invocation takes at most {MAX_BODY_BYTES} (6 MB)"
        )
    try:
        return preprocessor(path.read_bytes())
    except ImageError as error:
        raise UserError(f"ClientError: Loading image data failed with exception: {error} ({name})") from None


def transform(job: JobDirectory, log: logging.Logger) -> int:
    """Answer every input file; the number of files answered."""
    config = json.loads((job.config / CONFIG_FILE).read_text())
    if (config.get("ContentType") or "").split(";")[0].strip().lower() not in CONTENT_TYPES:
        raise UserError(
            f"ClientError: Invalid content type {config.get('ContentType')!r}. Accepted content types are "
            f"{list(CONTENT_TYPES)}: set TransformInput.ContentType"
        )
    try:
        media_type = response_type(config.get("Accept"))
    except InvocationError as error:
        raise UserError(f"{error.message}: set TransformOutput.Accept") from None
    predictor = Predictor.load(job.model / MODEL_FILE)
    preprocessor = Preprocessor(predictor.image_shape)
    log.info("model: %s", predictor.description)
    files = sorted(p for p in job.data.rglob("*") if p.is_file())
    log.info("%d files to transform; images: %s", len(files), preprocessor.description)
    output = job.output / "data"
    for start in range(0, len(files), BATCH_SIZE):
        chunk = files[start : start + BATCH_SIZE]
        names = [path.relative_to(job.data).as_posix() for path in chunk]
        images = np.stack(
            [_prepare(preprocessor, path, name) for path, name in zip(chunk, names, strict=True)]
        )
        for name, probabilities in zip(names, predictor.predict(images), strict=True):
            answer = encode(probabilities, media_type)
            write_atomically(output / f"{name}.out", lambda out, answer=answer: out.write(answer))
        log.info("%d of %d files transformed", start + len(chunk), len(files))
    return len(files)


def run(ml_dir: Path) -> int:
    job = JobDirectory(ml_dir)
    log = setup_logging()  # SageMaker's log lines on stdout, which the platform copies to the log stream
    try:
        transform(job, log)
    except (UserError, OSError, json.JSONDecodeError) as error:
        reason = str(error) if isinstance(error, UserError) else f"ClientError: {error}"
        log.error(reason)
        job.write_failure(reason)
        return 1
    return 0
