/// What opening a store does with its schema, the same for every store.
///
/// A store migrated by a newer Kuvert (a migration this binary does not know)
/// is refused either way: this binary could misread it.
public enum SchemaPolicy: Sendable {
    /// Applies the migrations this binary knows and the store lacks
    /// (`kuvert migrate`, and `serve` and `worker` at start).
    case migrate
    /// Changes nothing: the store must already have the current schema
    /// (every other command).
    case requireCurrent
}
