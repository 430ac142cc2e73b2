from __future__ import annotations

from conftest import failed_names, quiet_report
from deploycheck import yamlfiles
from deploycheck.tree import Tree


def test_every_yaml_file_of_the_copy_parses(repo):
    report = quiet_report()
    tree = Tree(repo)
    yamlfiles.check(tree, report)
    assert report.failed == 0
    assert report.passed >= 20
    assert repo / "deploy/kubernetes/components/strimzi/kafkauser.yaml" in tree.yaml_docs


def test_a_broken_manifest_fails_and_is_left_out(repo):
    path = repo / "deploy/kubernetes/base/service.yaml"
    path.write_text(path.read_text() + "\n  ports: [unclosed\n")
    report = quiet_report()
    tree = Tree(repo)
    yamlfiles.check(tree, report)
    assert failed_names(report) == ["yaml parses: deploy/kubernetes/base/service.yaml"]
    assert path not in tree.yaml_docs


def test_no_yaml_at_all_is_a_failure(tmp_path):
    (tmp_path / "deploy").mkdir()
    report = quiet_report()
    yamlfiles.check(Tree(tmp_path), report)
    assert report.failed == 1
