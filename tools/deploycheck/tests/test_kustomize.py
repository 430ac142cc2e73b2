from __future__ import annotations

import shutil

from conftest import FIXTURES, failed_names, parsed_tree, quiet_report
from deploycheck import kustomize


def fixture_repo(tmp_path, name):
    """A scratch root whose deploy/kubernetes/ holds one fixture kustomization."""
    shutil.copytree(FIXTURES / "kustomize" / name, tmp_path / "deploy/kubernetes" / name)
    return tmp_path


def test_missing_resource_fails_completeness_and_render(tmp_path, kubectl):
    root = fixture_repo(tmp_path, "missing-resource")
    report = quiet_report()
    rendered = kustomize.check(parsed_tree(root), report, kubectl)
    assert rendered == []
    assert failed_names(report) == [
        "kustomization lists every file beside it: deploy/kubernetes/missing-resource",
        "kubectl kustomize renders: deploy/kubernetes/missing-resource",
    ]
    assert "deployment.yaml" in report.failures()[0].detail


def test_a_file_left_out_of_the_kustomization_fails(tmp_path, kubectl):
    root = fixture_repo(tmp_path, "unlisted-file")
    report = quiet_report()
    rendered = kustomize.check(parsed_tree(root), report, kubectl)
    assert failed_names(report) == [
        "kustomization lists every file beside it: deploy/kubernetes/unlisted-file"
    ]
    detail = report.failures()[0].detail
    assert "forgotten.yaml" in detail and "secret.example.yaml" not in detail
    assert len(rendered) == 1 and [o["metadata"]["name"] for o in rendered[0].objects] == ["example"]


def test_a_patch_whose_target_matches_nothing_fails(tmp_path, kubectl):
    # kustomize itself renders this without a word: the patch silently does nothing.
    root = fixture_repo(tmp_path, "bad-patch")
    report = quiet_report()
    assert len(kustomize.check(parsed_tree(root), report, kubectl)) == 1
    assert failed_names(report) == ["every patch target matches an object: deploy/kubernetes/bad-patch"]
    assert "no-such-configmap" in report.failures()[0].detail


def test_a_renamed_object_leaves_the_overlays_patch_dangling(repo, kubectl):
    path = repo / "deploy/kubernetes/overlays/example/kustomization.yaml"
    path.write_text(path.read_text().replace("kind: ScaledObject", "kind: ScaledJob"))
    report = quiet_report()
    kustomize.check(parsed_tree(repo), report, kubectl)
    assert failed_names(report) == [
        "every patch target matches an object: deploy/kubernetes/overlays/example"
    ]


def test_a_path_patch_for_a_missing_object_fails_to_render(repo, kubectl):
    path = repo / "deploy/kubernetes/overlays/example/servicemonitor-patch.yaml"
    path.write_text(path.read_text().replace("name: retirement-consumer", "name: retirement-consumer-old"))
    report = quiet_report()
    kustomize.check(parsed_tree(repo), report, kubectl)
    assert failed_names(report) == ["kubectl kustomize renders: deploy/kubernetes/overlays/example"]


def test_without_kubectl_rendering_fails_rather_than_passes(repo):
    report = quiet_report()
    assert kustomize.check(parsed_tree(repo), report, None) == []
    names = failed_names(report)
    assert names and all(n.startswith("kubectl kustomize renders:") for n in names)


def test_the_example_overlay_renders_with_the_strimzi_objects_in_their_namespace(repo, kubectl):
    report = quiet_report()
    rendered = {r.directory.name: r for r in kustomize.check(parsed_tree(repo), report, kubectl)}
    assert report.failed == 0
    assert rendered["strimzi"].kind == "Component"
    namespaces = {(o["kind"], o["metadata"].get("namespace")) for o in rendered["example"].objects}
    assert ("Deployment", "retirement") in namespaces
    assert ("KafkaUser", "kafka") in namespaces and ("KafkaTopic", "kafka") in namespaces
