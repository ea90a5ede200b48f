import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb
