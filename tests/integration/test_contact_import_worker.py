"""A page's large CSV import runs on a real Celery worker process, through the real broker."""
from __future__ import annotations

import json

import pytest

from tests.integration.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

ROWS = 2500  # three batches of the importer's 1,000

START = f"""
import io
from accounts_app.models import User
from contacts_app import import_jobs
user = User.objects.create_user(username="importer", email="importer@nudge.example")
text = "Email,First name,Segment\\n" + "".join(f"p{{n}}@acme.example,P{{n}},s{{n % 3}}\\n" for n in range({ROWS}))
job = import_jobs.contact_import_start(file=io.BytesIO(text.encode()), size=None, file_name="big.csv", user=user)
job = import_jobs.contact_import_run(job=job, mapping=job.mapping)
print(job.pk, job.status)
"""
STATE = """
import json
from contacts_app.models import Contact, ContactImport
job = ContactImport.objects.get()
print(json.dumps({"status": job.status, "processed": job.processed_rows, "created": job.created,
                  "contacts": Contact.objects.count(), "text": len(job.text)}))
"""


@pytest.fixture
def stack(tmp_path):
    running = Stack(tmp_path)
    running.manage("migrate", "--noinput", "-v", "0")
    yield running
    running.stop()


def _state(stack: Stack) -> dict:
    return json.loads(stack.manage("shell", "-c", STATE).strip().splitlines()[-1])


def test_a_large_import_is_queued_and_a_worker_imports_it_in_batches(stack):
    started = stack.manage("shell", "-c", START).strip().splitlines()[-1].split()
    assert started[1] == "queued"  # more than INLINE_ROWS: the request only queues it
    assert _state(stack)["contacts"] == 0
    stack.start("worker")
    done = stack.wait_for(lambda: (state := _state(stack))["status"] == "done" and state, timeout=180,
                          every=2, what="the import to finish")
    assert done == {"status": "done", "processed": ROWS, "created": ROWS, "contacts": ROWS, "text": 0}
