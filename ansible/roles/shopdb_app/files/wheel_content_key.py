"""Print the content key of a wheel: a hash of the files it installs (each file's name and sha256, from the
wheel's RECORD). Two builds of the same code get the same key whatever their timestamps, build directory or
kind of source (git checkout or unpacked tarball); any change to the code, data or metadata changes it.
Usage: python3 wheel_content_key.py WHEEL"""
import hashlib
import sys
import zipfile


def content_key(wheel: str) -> str:
    with zipfile.ZipFile(wheel) as whl:
        (record,) = [name for name in whl.namelist() if name.endswith(".dist-info/RECORD")]
        # RECORD lists itself without a hash; the order of its lines depends on the build's directory walk.
        lines = sorted(line for line in whl.read(record).decode().splitlines()
                       if line and not line.startswith(record + ","))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:20]


if __name__ == "__main__":
    print(content_key(sys.argv[1]))
