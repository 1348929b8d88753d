"""Lab 2 in a real browser, against `roost server` and the real algorithm: from an empty list, create the
workshop's training job by filling the form by its labels (ResNet-20 at 3,28,28 on tiny .rec files, two
epochs), watch it complete with one chart point per epoch, make an endpoint of its model and send it a
photo (Lab 3's check), filter its log on "Validation-accuracy", clone it and stop the clone."""

from __future__ import annotations

import signal
import time

import cv2
import numpy as np
import pytest
from console_servers import start_roost_server

from algorithm.tiny_jobs import class_image

pytest.importorskip("selenium", reason="the browser tests need selenium (pip install selenium)")
from page_waits import wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select


@pytest.fixture
def server(tmp_path, data_root):
    process, url = start_roost_server(tmp_path / "state", data_root)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def field(driver, label: str, within=None):
    """The input a <label> with exactly this text is for."""
    scope = within or driver
    found = scope.find_element(By.XPATH, f".//label[normalize-space()='{label}']")
    return driver.find_element(By.ID, found.get_attribute("for"))


def type_into(driver, label: str, text: str, within=None) -> None:
    element = field(driver, label, within)
    element.clear()
    element.send_keys(text)


def status(driver) -> str:
    return driver.find_element(By.ID, "job-status").text


def test_lab2_in_the_browser(browser, server, tmp_path):
    driver = browser
    driver.get(server + "/")
    assert "No training jobs" in driver.find_element(By.ID, "jobs").text
    driver.find_element(By.LINK_TEXT, "Create training job").click()

    # Job settings, algorithm, resources: the workshop's values.
    type_into(driver, "Job name", "birds13-07")
    assert Select(field(driver, "Choose an algorithm")).first_selected_option.text.startswith(
        "Image classification"
    )
    Select(field(driver, "Instance type")).select_by_visible_text("ml.p2.xlarge")
    wait_for(driver, lambda d: "runs on this machine" in d.find_element(By.ID, "instance-mapping").text)

    # Channels: the form says what each S3 URI holds and offers the train channel's record count.
    channels = driver.find_elements(By.CSS_SELECTOR, "fieldset.channel")
    assert [field(driver, "Channel name", c).get_attribute("value") for c in channels] == [
        "train",
        "validation",
    ]
    type_into(driver, "S3 location", "s3://birds/train/", channels[0])
    type_into(driver, "S3 location", "s3://birds/validation/", channels[1])
    wait_for(driver, lambda d: "32 records, labels 0-3" in channels[0].text)
    wait_for(driver, lambda d: "16 records, labels 0-3" in channels[1].text)
    channels[0].find_element(
        By.XPATH, ".//button[normalize-space()='Use 32 as num_training_samples']"
    ).click()
    assert field(driver, "num_training_samples").get_attribute("value") == "32"
    type_into(driver, "S3 output path", "s3://birds/")
    driver.find_element(By.XPATH, "//button[normalize-space()='Add channel']").click()
    added = driver.find_elements(By.CSS_SELECTOR, "fieldset.channel")
    assert len(added) == 3 and field(driver, "Channel name", added[2]).get_attribute("value") == ""
    added[2].find_element(By.XPATH, ".//button[normalize-space()='Remove channel']").click()
    assert len(driver.find_elements(By.CSS_SELECTOR, "fieldset.channel")) == 2

    # Hyperparameters, scaled to a CPU; a bad value is refused before submit, in SageMaker's words.
    for name, value in {
        "num_classes": "4",
        "num_layers": "20",
        "image_shape": "3,28,28",
        "mini_batch_size": "8",
        "learning_rate": "0.05",
        "augmentation_type": "crop",
        "top_k": "2",
        "epochs": "two",
    }.items():
        type_into(driver, name, value)

    def problem(d) -> str:  # the line is replaced on each check: find it again each time
        return d.find_element(By.ID, "problem-hp-epochs").text

    wait_for(driver, lambda d: "The value 'two' is not valid for the 'epochs' hyperparameter" in problem(d))
    driver.find_element(By.XPATH, "//button[normalize-space()='Create training job']").click()
    assert driver.current_url.endswith("/create-training-job")
    type_into(driver, "epochs", "2")
    wait_for(driver, lambda d: problem(d) == "")
    type_into(driver, "checkpoint_frequency", "2")
    driver.find_element(By.XPATH, "//button[normalize-space()='Create training job']").click()

    # The job's page follows the job to Completed; the chart has one point per epoch.
    wait_for(driver, lambda d: d.current_url.endswith("/jobs/birds13-07"), message="no job page")
    wait_for(driver, lambda d: status(d) == "Completed", timeout=300, message="the job did not complete")
    chart = driver.find_element(By.ID, "accuracy-chart")
    wait_for(driver, lambda d: chart.get_attribute("data-complete") == "true")
    assert chart.get_attribute("data-points") == "2"
    assert chart.get_attribute("data-validation-points") == "2"
    assert "validation:accuracy" in driver.find_element(By.ID, "final-metrics").text
    download = driver.find_element(By.LINK_TEXT, "Download model.tar.gz")
    assert download.get_attribute("href").endswith("/jobs/birds13-07/model.tar.gz")
    assert "s3://birds/birds13-07/output/model.tar.gz" in driver.page_source

    # Lab 3 in the browser: an endpoint from the job's model answers a photo with its top classes.
    driver.find_element(
        By.XPATH, '//button[normalize-space()="Create endpoint from this job\'s model"]'
    ).click()
    wait_for(driver, lambda d: d.current_url.endswith("/endpoints/birds13-07"), message="no endpoint page")
    endpoint_status = lambda d: d.find_element(By.ID, "endpoint-status").text  # noqa: E731
    wait_for(driver, lambda d: endpoint_status(d) == "InService", timeout=180, message="not InService")
    photo = tmp_path / "bird.jpg"
    cv2.imwrite(str(photo), class_image(2, np.random.default_rng(5), size=36))
    field(driver, "Photo (JPEG or PNG)").send_keys(str(photo))
    driver.find_element(By.XPATH, "//button[normalize-space()='Send to the endpoint']").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#top-classes tbody tr"), message="no answer")
    rows = driver.find_elements(By.CSS_SELECTOR, "#top-classes tbody tr")
    assert len(rows) == 4 and all(row.text.startswith("class ") for row in rows)
    assert abs(sum(float(row.text.split()[-1]) for row in rows) - 1) < 0.01
    driver.get(server + "/endpoints")
    assert "birds13-07" in driver.find_element(By.TAG_NAME, "main").text
    driver.get(server + "/jobs/birds13-07")

    # View logs -> the latest stream -> filter on "Validation-accuracy": one line per epoch.
    driver.find_element(By.LINK_TEXT, "View logs").click()
    driver.find_element(By.PARTIAL_LINK_TEXT, "birds13-07/algo-1-").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "end-of-stream"))
    type_into(driver, "Filter events", '"Validation-accuracy"')

    def filtered(d):
        lines = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#log-lines .line")]
        return lines if d.find_elements(By.ID, "end-of-stream") else None

    wait_for(driver, lambda d: (lines := filtered(d)) is not None and len(lines) == 2)
    assert all("Validation-accuracy=" in line for line in filtered(driver))

    # Clone: the form comes pre-filled with a new name; made longer, the clone is stopped while it runs.
    driver.get(server + "/jobs/birds13-07")
    driver.find_element(By.LINK_TEXT, "Clone").click()
    assert field(driver, "Job name").get_attribute("value") == "birds13-07-Clone"
    assert field(driver, "num_layers").get_attribute("value") == "20"
    assert field(driver, "S3 output path").get_attribute("value") == "s3://birds/"
    type_into(driver, "epochs", "500")
    type_into(driver, "checkpoint_frequency", "500")
    time.sleep(0.6)  # the as-you-type check settles
    driver.find_element(By.XPATH, "//button[normalize-space()='Create training job']").click()
    wait_for(driver, lambda d: d.current_url.endswith("/jobs/birds13-07-Clone"), message="no clone page")
    wait_for(driver, lambda d: "Training" in d.find_element(By.ID, "summary").text, timeout=120)
    driver.find_element(By.XPATH, "//button[normalize-space()='Stop']").click()
    driver.switch_to.alert.accept()
    wait_for(driver, lambda d: status(d) in ("Stopping", "Stopped"), message="Stop did not take")
    wait_for(driver, lambda d: status(d) == "Stopped", timeout=120, message="the clone did not end Stopped")

    # Back on the list: both jobs, with their statuses; the name search narrows it as it is typed.
    driver.get(server + "/")
    table = driver.find_element(By.ID, "jobs").text
    assert "birds13-07-Clone" in table and "Stopped" in table and "Completed" in table
    type_into(driver, "Search training jobs by name", "Clone")
    wait_for(driver, lambda d: "Completed" not in d.find_element(By.ID, "jobs").text)
    assert "birds13-07-Clone" in driver.find_element(By.ID, "jobs").text
