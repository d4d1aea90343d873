"""The sink: the dataset as stored. ``view`` (a version's files, wherever they physically are),
``objects`` (an object store's conditional writes, listings and the lease), ``read`` (a committed version
read back as Arrow: ``read_table``), ``migrate`` (earlier tables given today's columns); the version
protocol itself is ``transforms.write.commit`` and compaction ``transforms.write.compact``. Nothing here
imports Beam transforms, so every layer may use it."""
