"""The ``config:`` block of a ``filesystem`` source."""

from __future__ import annotations

import codecs
import posixpath
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = ["EXTENSIONS", "FileFormat", "FilesystemConfig"]

FileFormat = Literal["csv", "jsonl", "parquet"]

#: File extension -> the format it implies when ``format`` is not given.
EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_S3_FIELDS = ("aws_access_key_id", "aws_secret_access_key", "endpoint_url", "region_name")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


class FilesystemConfig(BaseModel):
    """Which files to read, in which format, and how to reach them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket_url: str = Field(
        min_length=1,
        description="a local folder (relative to floe.yaml's folder), file:///abs/path or "
        "s3://bucket/prefix",
    )
    file_glob: str = Field(default="*", min_length=1, description="files to read, e.g. *.csv")
    path_template: str | None = Field(
        default=None,
        min_length=1,
        description="instead of file_glob, files named by their dates, e.g. "
        "events/{date:%Y-%m-%d}/*.parquet: a time window (partitions:) reads the files of its "
        "dates; file_glob becomes the template with each {date:...} as *",
    )
    format: FileFormat | None = Field(
        default=None,
        validate_default=True,
        description="csv | jsonl | parquet; default: inferred from file_glob's extension",
    )
    table_name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=63)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    header: bool = True
    csv_type_conflicts: Literal["string", "fail"] = Field(
        default="string",
        description="a column inferred as different types in different CSV files: string "
        "loads it as text from every file; fail stops the load naming the column and files",
    )
    encoding: str = "utf-8"
    incremental: bool | None = Field(
        default=None,
        description="load only files modified since the last run; default: on for append",
    )
    allow_empty: bool = Field(
        default=False,
        description="a glob that matches no file loads 0 rows with a warning instead of "
        "failing the load as a configuration error (for a landing folder that may be empty)",
    )
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = Field(default=None, validate_default=True)
    endpoint_url: str | None = None
    region_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _glob_of_template(cls, data: object) -> object:
        """``file_glob`` of a ``path_template``: every file the template can name (an invalid
        template is reported by its own validator)."""
        if not isinstance(data, dict) or "file_glob" in data:
            return data
        template = data.get("path_template")
        if not isinstance(template, str):
            return data
        from floe_dlt_source_filesystem.windows import template_glob

        try:
            return {**data, "file_glob": template_glob(template)}
        except ValueError:
            return data

    @field_validator("path_template")
    @classmethod
    def _template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        from floe_dlt_source_filesystem.windows import template_glob, template_unit

        template_unit(value)
        if info.data.get("file_glob") != template_glob(value):
            raise ValueError("give file_glob or path_template, not both")
        return value

    @field_validator("bucket_url")
    @classmethod
    def _supported_location(cls, value: str) -> str:
        scheme = _scheme(value)
        if scheme == "s3":
            if not urlsplit(value).netloc:
                raise ValueError("an s3:// URL needs a bucket: s3://bucket/prefix")
        elif scheme == "file":
            if not urlsplit(value).path.startswith("/") or urlsplit(value).netloc:
                raise ValueError("a file:// URL needs an absolute path: file:///abs/path")
        elif scheme:
            raise ValueError(
                f"scheme {scheme}:// is not supported: use a local path, file:///abs/path "
                "or s3://bucket/prefix"
            )
        return value

    @field_validator("file_glob")
    @classmethod
    def _relative_glob(cls, value: str) -> str:
        if value.startswith("/") or "://" in value:
            raise ValueError("must be relative to bucket_url, e.g. '*.csv' or 'orders/*.csv'")
        return value

    @field_validator("format")
    @classmethod
    def _infer_format(cls, value: FileFormat | None, info: ValidationInfo) -> FileFormat | None:
        glob = info.data.get("file_glob")
        if value is not None or not isinstance(glob, str):
            return value
        extension = posixpath.splitext(glob)[1].lower()
        if extension in EXTENSIONS:
            return EXTENSIONS[extension]
        raise ValueError(
            f"cannot infer the format from file_glob {glob!r}: set format to csv, jsonl or "
            f"parquet, or end file_glob with {', '.join(EXTENSIONS)}"
        )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}, e.g. utf-8 or latin-1") from None

    @field_validator(*_S3_FIELDS)
    @classmethod
    def _only_for_s3(cls, value: object, info: ValidationInfo) -> object:
        bucket_url = info.data.get("bucket_url")
        if value is not None and isinstance(bucket_url, str) and _scheme(bucket_url) != "s3":
            raise ValueError("only applies to an s3:// bucket_url")
        return value

    @field_validator("aws_secret_access_key")
    @classmethod
    def _key_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "aws_access_key_id" in info.data and (info.data["aws_access_key_id"] is None) != (
            value is None
        ):
            raise ValueError("give aws_access_key_id and aws_secret_access_key together")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _http_endpoint(cls, value: str | None) -> str | None:
        if value is not None and _scheme(value) not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def file_format(self) -> FileFormat:
        """The format, given or inferred (validation guarantees one)."""
        assert self.format is not None  # nosec B101  # narrows the type; checked upstream
        return self.format

    @property
    def is_s3(self) -> bool:
        return _scheme(self.bucket_url) == "s3"

    @property
    def has_own_s3_settings(self) -> bool:
        """True when any S3 field is set here: then floe.yaml's ``storage.s3`` is not used."""
        return any(getattr(self, name) is not None for name in _S3_FIELDS)
