"""BioBlend against a running skyferry gateway, as a Galaxy user's script would call it.

Driven by test/galaxy/bioblend.test.ts, which starts the system and passes, in the environment:
GALAXY_URL / GALAXY_KEY (a gateway reporting Galaxy 23.1: tus uploads), OLD_GALAXY_URL /
OLD_GALAXY_KEY (a gateway reporting 21.09: multipart uploads), OTHER_KEY (a second user of the
first gateway), SOURCE_URL (a local HTTP server for put_url) and SOURCE_BYTES (what it serves).
Prints one JSON line per call: {"call", "ok", "detail"}; the node test asserts each.
"""

import faulthandler
import json
import os
import sys
import tempfile
import time
import traceback

import requests
from bioblend.galaxy import GalaxyInstance
from tusclient.client import TusClient

URL, KEY = os.environ["GALAXY_URL"], os.environ["GALAXY_KEY"]
OLD_URL, OLD_KEY = os.environ["OLD_GALAXY_URL"], os.environ["OLD_GALAXY_KEY"]
OTHER_KEY = os.environ["OTHER_KEY"]
SOURCE_URL, SOURCE_BYTES = os.environ["SOURCE_URL"], os.environ["SOURCE_BYTES"].encode()

# A hung call must not hang npm test: dump where it hung and exit.
faulthandler.dump_traceback_later(float(os.environ.get("BIOBLEND_DEADLINE_S", "240")), exit=True)

gi = GalaxyInstance(URL, key=KEY)
old = GalaxyInstance(OLD_URL, key=OLD_KEY)
work = tempfile.mkdtemp(prefix="skyferry-bioblend-")
state = {}


def report(call, ok, detail=""):
    print(json.dumps({"call": call, "ok": ok, "detail": detail}), flush=True)


def case(call):
    def wrap(fn):
        try:
            fn()
            report(call, True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            report(call, False, f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
        return fn

    return wrap


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def write(name, data: bytes) -> str:
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def output_of(answer):
    check(isinstance(answer, dict) and answer.get("outputs") and answer.get("jobs") is not None, f"Galaxy's tool answer: {answer}")
    check(answer.get("implicit_collections") == [], "implicit_collections is []")
    out = answer["outputs"][0]
    check(out["state"] == "ok", f"output state ok: {out['state']}")
    check(answer["jobs"][0]["id"], "a job id")
    return out, answer["jobs"][0]["id"]


@case("config.get_version")
def _():
    v = gi.config.get_version()
    check(v["version_major"] == "23.1", f"version_major 23.1: {v}")
    check(old.config.get_version()["version_major"] == "21.09", "the old gateway reports 21.09")


@case("config.get_config")
def _():
    c = gi.config.get_config()
    check(c["version_major"] == "23.1", f"configuration: {c}")


@case("users.get_current_user")
def _():
    u = gi.users.get_current_user()
    check(u["id"] and "@" in u["email"], f"current user: {u}")


@case("histories.create_history")
def _():
    h = gi.histories.create_history(name="bioblend main")
    check(h["name"] == "bioblend main" and h["id"], f"created: {h}")
    state["hid"] = h["id"]


@case("histories.get_histories")
def _():
    ids = [h["id"] for h in gi.histories.get_histories()]
    check(state["hid"] in ids, "the new history is listed")
    named = gi.histories.get_histories(name="bioblend main")
    check([h["id"] for h in named] == [state["hid"]], f"by name: {named}")


@case("histories.show_history")
def _():
    h = gi.histories.show_history(state["hid"])
    check(h["id"] == state["hid"] and h["deleted"] is False, f"show: {h}")


@case("histories.update_history")
def _():
    h = gi.histories.update_history(state["hid"], name="renamed", annotation="by bioblend")
    check(h["name"] == "renamed" and h["annotation"] == "by bioblend", f"updated: {h}")


TUS_BYTES = b"chr1\t10\t20\tpeak1\n" * 5000
CRLF_BYTES = b"chr2 5 6\r\nchr3 7 8\r\n"


@case("tools.upload_file (tus, Galaxy >= 22.01)")
def _():
    answer = gi.tools.upload_file(write("peaks.bed", TUS_BYTES), state["hid"], file_type="bed", dbkey="hg38")
    out, job = output_of(answer)
    check(out["name"] == "peaks.bed" and out["extension"] == "bed", f"name and ext: {out}")
    check(out["genome_build"] == "hg38", f"dbkey: {out.get('genome_build')}")
    check(out["file_size"] == len(TUS_BYTES), f"size {out['file_size']}")
    state["tus_ds"], state["tus_job"] = out["id"], job


@case("tools.upload_file (tus, to_posix_lines + space_to_tab)")
def _():
    answer = gi.tools.upload_file(write("crlf.txt", CRLF_BYTES), state["hid"], space_to_tab=True)
    out, _job = output_of(answer)
    data = gi.datasets.download_dataset(out["id"])
    check(data == b"chr2\t5\t6\nchr3\t7\t8\n", f"normalised: {data!r}")


@case("tools.upload_file (multipart upload1, Galaxy 21.09)")
def _():
    h = old.histories.create_history(name="old client")
    payload = bytes(range(256)) * 300  # binary: passes unchanged
    answer = old.tools.upload_file(write("blob.bin", payload), h["id"], file_name="blob.bin")
    out, _job = output_of(answer)
    check(out["name"] == "blob.bin", f"name: {out['name']}")
    check(old.datasets.download_dataset(out["id"]) == payload, "bytes read back equal")


@case("tools.paste_content")
def _():
    answer = gi.tools.paste_content("a\tb\r\nc\td\r\n", state["hid"], file_name="pasted.tsv", file_type="tabular")
    out, _job = output_of(answer)
    check(out["name"] == "pasted.tsv" and out["extension"] == "tabular", f"pasted: {out}")
    check(gi.datasets.download_dataset(out["id"]) == b"a\tb\nc\td\n", "posix lines")


@case("tools.put_url")
def _():
    answer = gi.tools.put_url(SOURCE_URL + "/files/served.txt", state["hid"])
    out, _job = output_of(answer)
    check(gi.datasets.download_dataset(out["id"]) == SOURCE_BYTES, "the served bytes")
    state["url_ds"] = out["id"]


@case("tus upload broken off and resumed (get_tus_uploader + post_to_fetch)")
def _():
    data = os.urandom(1024) * 600  # 600 KiB, not text
    path = write("resumed.dat", data)
    client = TusClient(URL + "/api/upload/resumable_upload", headers={"x-api-key": KEY})
    first = client.uploader(path, chunk_size=128 * 1024)
    first.upload_chunk()  # creates the session, sends one chunk; then the "connection" is gone
    url = first.url
    # Another user sees no such session.
    r = requests.head(url, headers={"x-api-key": OTHER_KEY, "Tus-Resumable": "1.0.0"})
    check(r.status_code == 404, f"another user's HEAD: {r.status_code}")
    second = client.uploader(path, url=url, chunk_size=128 * 1024)
    check(second.offset == 128 * 1024, f"resumes from its offset: {second.offset}")
    second.upload()
    answer = gi.tools.post_to_fetch(path, state["hid"], second.session_id)
    out, _job = output_of(answer)
    check(gi.datasets.download_dataset(out["id"]) == data, "bytes equal after resume")
    r = requests.head(url, headers={"x-api-key": KEY, "Tus-Resumable": "1.0.0"})
    check(r.status_code == 404, f"the session is gone once fetched: {r.status_code}")


@case("datasets.show_dataset")
def _():
    d = gi.datasets.show_dataset(state["tus_ds"])
    check(d["id"] == state["tus_ds"] and d["state"] == "ok", f"show: {d}")
    check(d["download_url"] == f"/api/histories/{state['hid']}/contents/{state['tus_ds']}/display", f"download_url {d['download_url']}")


@case("datasets.get_datasets")
def _():
    ds = gi.datasets.get_datasets(history_id=state["hid"], limit=2, order="hid-asc")
    check([d["id"] for d in ds][:1] == [state["tus_ds"]] and len(ds) == 2, f"paged, ordered: {[d['id'] for d in ds]}")
    rest = gi.datasets.get_datasets(history_id=state["hid"], offset=2, order="hid-asc")
    check(len(rest) >= 3 and state["tus_ds"] not in [d["id"] for d in rest], "offset")


@case("datasets.download_dataset")
def _():
    check(gi.datasets.download_dataset(state["tus_ds"]) == TUS_BYTES, "in memory")
    target = gi.datasets.download_dataset(state["tus_ds"], file_path=work, use_default_filename=True)
    with open(target, "rb") as f:
        check(f.read() == TUS_BYTES, f"to a file: {target}")


@case("jobs.show_job")
def _():
    j = gi.jobs.show_job(state["tus_job"])
    check(j["id"] == state["tus_job"] and j["state"] == "ok", f"job: {j}")
    check(j["outputs"]["output0"]["id"] == state["tus_ds"], "its output")


@case("jobs.get_jobs")
def _():
    jobs = gi.jobs.get_jobs()
    check(isinstance(jobs, list), f"a list: {jobs!r}")


@case("histories.delete_history")
def _():
    h = gi.histories.create_history(name="to delete")
    d = gi.histories.delete_history(h["id"])
    check(d["deleted"] is True and d["purged"] is False, f"deleted: {d}")


@case("histories.delete_history (purge=True)")
def _():
    h = gi.histories.create_history(name="to purge")
    gi.tools.paste_content("x\n", h["id"])
    d = gi.histories.delete_history(h["id"], purge=True)
    check(d["deleted"] is True and d["purged"] is True, f"purged: {d}")
    check(gi.histories.show_history(h["id"])["purged"] is True, "still purged when shown")


sys.exit(0)
