"""What a job writes (its log lines, its failure reason) reaches the browser as text: a job that logs
`<script>` and fails with an `<img onerror>` runs none of it. (Names and tags cannot hold markup: the API
refuses it.)"""

from __future__ import annotations

import signal

import boto3
import pytest
from botocore.config import Config
from console_servers import start_fake_server

from workshop import workshop_request

pytest.importorskip("selenium", reason="the browser tests need selenium (pip install selenium)")
from page_waits import wait_for
from selenium.webdriver.common.by import By


def _failed(driver) -> bool:
    return driver.find_element(By.ID, "job-status").text == "Failed"


def test_markup_from_jobs_and_users_is_shown_as_text(browser, tmp_path, data_root):
    process, url = start_fake_server(tmp_path / "state", data_root)
    try:
        sagemaker = boto3.client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )
        request = workshop_request("markup")
        request["HyperParameters"]["_fake_mode"] = (
            "markup"  # the fake algorithm's mode (keys with _ are free)
        )
        sagemaker.create_training_job(**request)
        browser.get(f"{url}/jobs/markup")
        wait_for(browser, _failed, 30, "the job did not fail")
        failure = browser.find_element(By.CLASS_NAME, "failure").text
        assert failure == "ClientError: <img src=x onerror=\"document.title = 'pwned'\">"
        browser.find_element(By.LINK_TEXT, "View logs").click()
        browser.find_element(By.PARTIAL_LINK_TEXT, "markup/algo-1-").click()
        wait_for(browser, lambda d: d.find_elements(By.ID, "end-of-stream"), 10)
        lines = browser.find_element(By.ID, "log-lines").text
        assert "<script>document.title = 'pwned'</script><b>not bold</b>" in lines
        assert not browser.find_elements(By.CSS_SELECTOR, "#log-lines b")
        assert browser.title != "pwned" and "pwned" not in browser.execute_script("return document.title")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
