"""Facts about meshes that know no data set and no network: the topology a model animates
(:mod:`.topology`), named vertex regions (:mod:`.regions`), the face's paired vertex sets
(:mod:`.face_sets`), head stabilisation (:mod:`.stabilize`), vertex-sequence files
(:mod:`.sequence_file`) and input checks (:mod:`.checks`)."""
