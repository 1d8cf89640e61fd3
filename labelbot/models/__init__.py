"""The features' tables, one module per feature.

Declared here rather than in the feature's package under labelbot/features/: discord.py drops an extension's modules from
sys.modules when it unloads or reloads it, and a table declared a second time clashes in `Base.metadata`. Modules
here are imported once per process, so every extension reloads cleanly.
"""
