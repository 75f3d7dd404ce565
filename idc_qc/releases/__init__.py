"""IDC releases: fetch any release's index, run manifests, diffs between releases."""
