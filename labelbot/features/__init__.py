"""Feature packages: each subpackage is one extension, loaded by walking this folder."""
