"""Host metrics from a job's process group: CPU and memory while it runs, nothing once it is gone."""

import subprocess
import sys
import time

from roost.platform.host_metrics import HostSampler, group_usage
from roost.platform.metrics import Metric, Metrics
from roost.platform.store import Store
from roost.platform.training_metrics import NAMESPACE

BUSY = "import time\nend = time.time() + 1.2\nwhile time.time() < end: pass"


def test_a_busy_group_is_sampled_until_it_ends(tmp_path):
    metrics = Metrics(Store(tmp_path / "roost.db"))
    process = subprocess.Popen([sys.executable, "-c", BUSY], start_new_session=True)
    sampler = HostSampler(metrics, "busy-job", group=process.pid, every=0.3)
    sampler.start()
    process.wait()
    sampler.join(timeout=10)
    host = {"Host": "busy-job/algo-1"}
    cpu = [v for _, v in metrics.points(Metric.of(NAMESPACE, "CPUUtilization", host), 0, time.time() + 1)]
    memory = [
        v for _, v in metrics.points(Metric.of(NAMESPACE, "MemoryUtilization", host), 0, time.time() + 1)
    ]
    assert cpu and max(cpu) > 30  # one core spinning is near 100; a shared machine gives it less
    assert memory and all(0 < m < 100 for m in memory)
    assert group_usage(process.pid).processes == 0
