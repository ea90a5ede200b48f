import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import KuvertCore
@testable import KuvertLMTP
@testable import KuvertSQLite
