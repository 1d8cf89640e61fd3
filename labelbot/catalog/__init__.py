"""The release catalogue: releases, their tracklists and links, shared by every feature that names a release."""
