"""What of a request's `Environment` reaches the algorithm's process: an allowlist, not a denylist.

SageMaker's built-in algorithms ignore `Environment`; roost records it (DescribeTrainingJob shows it) but
passes on only the variables below, which the algorithm documents. Anything else could change how the
interpreter, the dynamic loader or a library starts (`PYTHONWARNINGS` + `BROWSER`, `LD_PRELOAD`,
`PYTHONPATH`, torchrun's `RANK`), which would let a request run commands as the server's user.
"""

from __future__ import annotations

from collections.abc import Mapping

# name -> what it does (the README's reference lists the same).
PASSED_VARIABLES: dict[str, str] = {
    "ROOST_SEED": "the seed of the initial weights, the shuffles and the augmentation draws (an integer)",
}


def passed_environment(requested: Mapping[str, str]) -> dict[str, str]:
    """The part of a request's Environment the algorithm's process gets."""
    return {name: value for name, value in requested.items() if name in PASSED_VARIABLES}
