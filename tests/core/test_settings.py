"""Settings: defaults need nothing, environment and a TOML file override them."""

from phonecloud.core.settings import Settings


def test_defaults_live_inside_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("PHONECLOUD_DATA_DIR", "PHONECLOUD_DATABASE_URL", "PHONECLOUD_BLOB_URL", "PHONECLOUD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.resolved_data_dir == tmp_path / "data"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'phonecloud.sqlite3'}"
    assert settings.resolved_blob_url == (tmp_path / "data" / "blobs").as_uri()
    assert settings.default_quota_bytes == 5 * 1024**3


def test_environment_and_config_file(monkeypatch, tmp_path):
    config = tmp_path / "phonecloud.toml"
    config.write_text('default_quota = "1GiB"\nblob_url = "file:///from/file"\n')
    monkeypatch.setenv("PHONECLOUD_CONFIG", str(config))
    monkeypatch.setenv("PHONECLOUD_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PHONECLOUD_BLOB_URL", "file:///from/env")
    settings = Settings()
    assert settings.resolved_data_dir == tmp_path / "elsewhere"
    assert settings.resolved_blob_url == "file:///from/env"  # the environment wins over the file
    assert settings.default_quota_bytes == 1024**3
