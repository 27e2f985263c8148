use super::*;

#[test]
fn workers_follow_joblib_for_negative_counts() {
    let cores = available_cores();
    assert_eq!(Workers::new(3).unwrap().get(), 3);
    assert_eq!(Workers::new(-1).unwrap().get(), cores);
    assert_eq!(Workers::new(-2).unwrap().get(), (cores - 1).max(1));
    assert_eq!(Workers::new(-1000).unwrap().get(), 1);
    assert_eq!(Workers::ALL_CORES, Workers::new(-1).unwrap());
}

#[test]
fn zero_and_garbage_workers_are_errors() {
    assert_eq!(
        Workers::new(0).unwrap_err().to_string(),
        "invalid workers \"0\": expected a positive number of workers, or -1 for one per core"
    );
    assert!("four".parse::<Workers>().is_err());
    assert_eq!(" 4 ".parse::<Workers>().unwrap().get(), 4);
}

#[test]
fn mpi_is_a_backend_with_the_mpi_feature_and_a_hint_without() {
    let parsed = "mpi".parse::<Backend>();
    #[cfg(feature = "mpi")]
    assert_eq!(parsed, Ok(Backend::Mpi));
    #[cfg(not(feature = "mpi"))]
    assert_eq!(
        parsed.unwrap_err().to_string(),
        "invalid backend \"mpi\": expected one of `rayon`, `threads`, `process` (`mpi` needs \
         the `mpi` feature of `parallel`)"
    );
}

#[test]
fn environment_values_are_parsed_and_errors_name_the_variable() {
    let options = options_from(Some("threads"), Some("3")).unwrap();
    assert_eq!(options.backend, Some(Backend::Threads));
    assert_eq!(options.workers.map(Workers::get), Some(3));

    assert_eq!(options_from(None, Some("  ")).unwrap(), Options::new());

    let err = options_from(Some("gpu"), None).unwrap_err();
    assert_eq!(err.setting(), "PARALLEL_BACKEND");
    let expected = if cfg!(feature = "mpi") {
        "invalid PARALLEL_BACKEND \"gpu\": expected one of `rayon`, `threads`, `process`, `mpi`"
    } else {
        "invalid PARALLEL_BACKEND \"gpu\": expected one of `rayon`, `threads`, `process`"
    };
    assert_eq!(err.to_string(), expected);

    let err = options_from(None, Some("0")).unwrap_err();
    assert_eq!(err.setting(), "PARALLEL_WORKERS");
    assert!(
        err.to_string()
            .starts_with("invalid PARALLEL_WORKERS \"0\"")
    );
}

#[test]
fn options_fall_back_field_by_field() {
    let call = Options {
        chunk: NonZeroUsize::new(10),
        ..Options::new()
    };
    let defaults = Options {
        chunk: NonZeroUsize::new(99),
        progress: Some(true),
        ..Options::new()
    };
    let merged = call.or(defaults);
    assert_eq!(merged.chunk, NonZeroUsize::new(10));
    assert_eq!(merged.progress, Some(true));
    assert_eq!(merged.backend, None);
}
